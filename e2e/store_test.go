//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"google.golang.org/protobuf/encoding/protojson"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// queryClient calls QueryService at gateway as subject, over HTTP GET.
func queryClient(t testing.TB, gateway, subject string) hallmarkv1connect.QueryServiceClient {
	return hallmarkv1connect.NewQueryServiceClient(h2c(), gateway, connect.WithHTTPGet(), connect.WithInterceptors(bearer(token(t, subject))))
}

// listImages follows every page of a ListImages query.
func listImages(t testing.TB, q hallmarkv1connect.QueryServiceClient, req *hallmarkv1.ListImagesRequest) []*hallmarkv1.Image {
	t.Helper()
	var out []*hallmarkv1.Image
	req.PageSize = 1000
	for {
		resp, err := q.ListImages(t.Context(), connect.NewRequest(req))
		if err != nil {
			t.Fatalf("ListImages %v: %v", req, err)
		}
		out = append(out, resp.Msg.GetImages()...)
		if req.PageToken = resp.Msg.GetNextPageToken(); req.PageToken == "" {
			return out
		}
	}
}

// repositories lists the repositories of images with the given prefix.
func repositories(images []*hallmarkv1.Image, prefix string) []string {
	var out []string
	for _, im := range images {
		if strings.HasPrefix(im.GetRepository(), prefix) {
			out = append(out, im.GetRepository())
		}
	}
	slices.Sort(out)
	return out
}

// waitAudit polls ListAudit until it returns at least one record, for up
// to 20s: decisions are written asynchronously, in batches.
func waitAudit(t testing.TB, q hallmarkv1connect.QueryServiceClient, req *hallmarkv1.ListAuditRequest) []*hallmarkv1.AuditEvent {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := q.ListAudit(t.Context(), connect.NewRequest(req))
		if err != nil {
			t.Fatalf("ListAudit: %v", err)
		}
		if len(resp.Msg.GetEvents()) > 0 {
			return resp.Msg.GetEvents()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit record for %v after 20s", req)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestStore: the gateway remembers what it built and decided. Two images
// on one base are found by that base (and by the base's own base), by a
// package of their SBOM; moving the base's tag makes them stale; a denied
// admission is in the audit log with its namespace and failed rule.
func TestStore(t *testing.T) {
	st := env.stack.State
	const subject = "e2e-store"
	c := hallmarkv1connectClient(st.Gateway, token(t, subject))
	q := queryClient(t, st.Gateway, subject)
	prefix := st.Registry + "/e2e/store-"
	baseTag := prefix + "base:1"
	buildIt := func(t *testing.T, dockerfile, tag string) *hallmarkv1.BuildResult {
		t.Helper()
		res, _, err := build(t.Context(), c, inlineRequest(t, c, dockerfile, tag))
		if err != nil {
			t.Fatalf("build %s: %v", tag, err)
		}
		if slices.ContainsFunc(res.GetWarnings(), func(w string) bool { return strings.Contains(w, "did not record") }) {
			t.Fatalf("build %s was not recorded: %q", tag, res.GetWarnings())
		}
		return res
	}
	buildIt(t, "FROM "+st.BaseImage+"\nLABEL e2e.store=one\nUSER 65532\n", baseTag)
	appA := buildIt(t, "FROM "+baseTag+"\nLABEL app=a\n", prefix+"app-a:v1")
	buildIt(t, "FROM "+baseTag+"\nLABEL app=b\n", prefix+"app-b:v1")
	apps := []string{prefix + "app-a", prefix + "app-b"}

	t.Run("images --base", func(t *testing.T) {
		out, stderr, err := runCLI(t, "images", "--base", baseTag, "--output", "json", "--limit", "0")
		if err != nil {
			t.Fatalf("hallmark images --base: %v\n%s", err, stderr)
		}
		var resp hallmarkv1.ListImagesResponse
		if err := protojson.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		if got := repositories(resp.GetImages(), prefix); !slices.Equal(got, apps) {
			t.Errorf("images on %s: %q, want %q", baseTag, got, apps)
		}
		baseDigest := st.BaseImage[strings.Index(st.BaseImage, "@")+1:]
		if got := repositories(listImages(t, q, &hallmarkv1.ListImagesRequest{Base: baseDigest}), prefix); !slices.Equal(got, append(slices.Clone(apps), prefix+"base")) {
			t.Errorf("images on the stack's base %s, directly or through %s: %q", baseDigest, baseTag, got)
		}
	})
	t.Run("images --package", func(t *testing.T) {
		got := repositories(listImages(t, q, &hallmarkv1.ListImagesRequest{Package: "base-files", Repository: prefix + "app-a"}), prefix)
		if !slices.Equal(got, apps[:1]) {
			t.Errorf("app-a holds base-files (from its base's SBOM): got %q", got)
		}
		if got := listImages(t, q, &hallmarkv1.ListImagesRequest{Package: "pkg:npm/left-pad@1.3.0", Repository: prefix + "app-a"}); len(got) != 0 {
			t.Errorf("a package nobody has: %d images", len(got))
		}
	})
	t.Run("builds", func(t *testing.T) {
		resp, err := q.ListBuilds(t.Context(), connect.NewRequest(&hallmarkv1.ListBuildsRequest{Repository: prefix + "app-a"}))
		if err != nil || len(resp.Msg.GetBuilds()) != 1 {
			t.Fatalf("builds of app-a: %v, %v", resp, err)
		}
		b := resp.Msg.GetBuilds()[0]
		if b.GetId() != appA.GetBuildId() || b.GetDigest() != appA.GetDigest() || b.GetOutcome() != "succeeded" || b.GetRequester().GetSubject() != subject ||
			len(b.GetAttestations()) < 2 || len(b.GetTags()) != 1 || b.GetTags()[0].GetTag() != "v1" ||
			!slices.ContainsFunc(b.GetBases(), func(ib *hallmarkv1.ImageBase) bool { return ib.GetRef() == baseTag && ib.GetRuntime() }) {
			t.Errorf("build record %v", b)
		}
		out, stderr, err := runCLI(t, "build", "show", appA.GetBuildId())
		if err != nil || !strings.Contains(out, appA.GetDigest()) {
			t.Errorf("hallmark build show: %v\n%s%s", err, out, stderr)
		}
	})
	t.Run("a moved base tag makes its images stale", func(t *testing.T) {
		buildIt(t, "FROM "+st.BaseImage+"\nLABEL e2e.store=two\nUSER 65532\n", baseTag)
		resp, err := q.ListImages(t.Context(), connect.NewRequest(&hallmarkv1.ListImagesRequest{Stale: true, PageSize: 1000}))
		if err != nil {
			t.Fatal(err)
		}
		if got := repositories(resp.Msg.GetImages(), prefix); !slices.Equal(got, apps) {
			t.Errorf("stale images %q, want %q (unresolved %q)", got, apps, resp.Msg.GetUnresolvedBases())
		}
	})
	t.Run("a denied admission is in the audit log", func(t *testing.T) {
		unsigned := prefix + "unsigned:v1"
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(unsigned, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		pod := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"e2e-audit"},"spec":{"containers":[{"name":"app","image":%q}]}}`, unsigned)
		review := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-audit","kind":{"group":"","version":"v1","kind":"Pod"},` +
			`"resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","namespace":"e2e-audit","userInfo":{"username":"e2e-deployer"},"object":` + pod + `}}`
		if out := postReview(t, webhookClient(t), env.stack.Admission, []byte(review)); out.Allowed {
			t.Fatalf("an unsigned image was admitted: %+v", out)
		}
		events := waitAudit(t, q, &hallmarkv1.ListAuditRequest{Kinds: []string{"admission"}, Repository: prefix + "unsigned"})
		e := events[0]
		var detail struct {
			Namespace   string   `json:"namespace"`
			Object      string   `json:"object"`
			FailedRules []string `json:"failedRules"`
		}
		if err := json.Unmarshal([]byte(e.GetDetail()), &detail); err != nil {
			t.Fatalf("detail %q: %v", e.GetDetail(), err)
		}
		if e.GetOutcome() != "denied" || e.GetActor() != "e2e-deployer" || detail.Namespace != "e2e-audit" || detail.Object != "Pod/web" || len(detail.FailedRules) == 0 {
			t.Errorf("admission record %v, detail %+v", e, detail)
		}
		out, stderr, err := runCLI(t, "audit", "--kind", "admission", "--repository", prefix+"unsigned", "--output", "jsonl")
		if err != nil || !strings.Contains(out, "e2e-audit") || !strings.Contains(out, detail.FailedRules[0]) {
			t.Errorf("hallmark audit --kind admission: %v\n%s%s", err, out, stderr)
		}
	})
	t.Run("a verification is in the audit log", func(t *testing.T) {
		v := hallmarkv1connect.NewVerifyServiceClient(h2c(), st.Gateway, connect.WithInterceptors(bearer(token(t, subject))))
		if _, err := v.Verify(t.Context(), connect.NewRequest(&hallmarkv1.VerifyRequest{Image: appA.GetPinned()})); err != nil {
			t.Fatal(err)
		}
		events := waitAudit(t, q, &hallmarkv1.ListAuditRequest{Kinds: []string{"verify"}, Digest: appA.GetDigest()})
		if e := events[0]; e.GetOutcome() != "allowed" || !strings.HasSuffix(e.GetActor(), " "+subject) {
			t.Errorf("verify record %v", e)
		}
	})
	t.Run("audit verify", func(t *testing.T) {
		out, stderr, err := runCLI(t, "audit", "verify")
		if err != nil {
			t.Errorf("hallmark audit verify: %v\n%s%s", err, out, stderr)
		}
	})
}
