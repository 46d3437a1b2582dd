//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

// TestPullScope: the gateway reads base images with its own credentials,
// so a caller may build from, and verify, only repositories its rule lets
// it read. Team A's rule covers its own repositories; with the default
// (empty) base-image allowlist that is all it reads. Team B's private
// image, in the same registry, is refused by FROM, COPY --from, RUN --mount
// from= and Verify before the registry is asked anything about it, whether
// it exists or not. A pull: pattern grants it, a read-only rule verifies
// without pushing, and a rule without pull: reads the allowlist.
func TestPullScope(t *testing.T) {
	st := env.stack.State
	reg := registrytest.New(t)
	h := reg.Host
	base := copyInto(t, reg, st.BaseImage, "teama/base", "v1")
	private := copyInto(t, reg, st.BaseImage, "teamb/private", "v1")
	privateTag := h + "/teamb/private:v1"
	var teamB atomic.Int64 // requests about team B's repositories
	reg.SetHook(func(_ http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/teamb/") {
			teamB.Add(1)
		}
		return false
	})
	verifyPolicy := fmt.Sprintf("verify:\n  policies: [%q]\n", env.stack.Policy)
	gw := startGatewayWith(t, gatewayOpts{
		buildkit: st.BuildKit, registry: h,
		rules: fmt.Sprintf(`
    - {issuer: {{issuer}}, subject: e2e-team-a, repositories: [%[1]q]}
    - {issuer: {{issuer}}, subject: e2e-team-a-pull, repositories: [%[1]q], pull: [%[2]q]}
    - {issuer: {{issuer}}, subject: e2e-release, pull: [%[3]q, "127.0.0.1:1/**"]}`,
			h+"/teama/**", h+"/teamb/private", h+"/**"),
		extraYAML: verifyPolicy,
	})
	verifyAt := func(gw, subject, image string) (*hallmarkv1.VerifyResponse, error) {
		c := hallmarkv1connect.NewVerifyServiceClient(h2c(), gw, connect.WithInterceptors(bearer(token(t, subject))))
		resp, err := c.Verify(t.Context(), connect.NewRequest(&hallmarkv1.VerifyRequest{Image: image}))
		if err != nil {
			return nil, err
		}
		return resp.Msg, nil
	}
	verifyAs := func(subject, image string) (*hallmarkv1.VerifyResponse, error) { return verifyAt(gw, subject, image) }
	teamA := hallmarkv1connectClient(gw, token(t, "e2e-team-a"))

	var own string
	t.Run("own repository", func(t *testing.T) {
		res, _, err := build(t.Context(), teamA, dockerfileRequest(t, teamA, "FROM "+base+"\nUSER 65532\n", h+"/teama/app:v1"))
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		own = res.GetPinned()
	})

	t.Run("another team's images are refused before any read", func(t *testing.T) {
		tests := []struct {
			name, dockerfile string
			args             map[string]string
			line             int
			ref              string
		}{
			{name: "FROM by digest", dockerfile: "FROM " + private + "\nUSER 65532\n", line: 1, ref: private},
			{name: "FROM by tag", dockerfile: "FROM " + privateTag + "\nUSER 65532\n", line: 1, ref: privateTag},
			{name: "FROM an image that does not exist", dockerfile: "FROM " + h + "/teamb/missing:v1\nUSER 65532\n", line: 1, ref: h + "/teamb/missing:v1"},
			{name: "COPY --from", dockerfile: "FROM " + base + "\nCOPY --from=" + privateTag + " /etc/os-release /teamb\nUSER 65532\n", line: 2, ref: privateTag},
			{name: "RUN --mount from=", dockerfile: "FROM " + base + "\nRUN --mount=type=bind,from=" + private + ",target=/p cp -r /p /q\nUSER 65532\n", line: 2, ref: private},
			{name: "ARG expanded", dockerfile: "ARG BASE=" + base + "\nFROM ${BASE}\nUSER 65532\n", args: map[string]string{"BASE": privateTag}, line: 2, ref: privateTag},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tag := fmt.Sprintf("%s/teama/refused:case%d", h, i)
				err := buildInline(t, teamA, tt.dockerfile, tt.args, tag)
				if code(err) != connect.CodePermissionDenied {
					t.Fatalf("error = %v, want PermissionDenied", err)
				}
				repo, _, pinned := strings.Cut(tt.ref, "@")
				if !pinned {
					repo = tt.ref[:strings.LastIndex(tt.ref, ":")]
				}
				want := fmt.Sprintf("(line %d): base image %q: you may not read repository %q", tt.line, tt.ref, repo)
				if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "pull:") {
					t.Errorf("error %q does not say %q and how to allow it", err, want)
				}
				// The same words whether the image exists or not, and no
				// digest a tag points at.
				if strings.Contains(err.Error(), "not found") || (!strings.Contains(tt.ref, "@") && strings.Contains(err.Error(), "sha256:")) {
					t.Errorf("error %q tells whether the image exists", err)
				}
				if _, ferr := remoteImage(t, tag); ferr == nil {
					t.Errorf("tag %s exists after a refused build", tag)
				}
			})
		}
		if n := teamB.Load(); n != 0 {
			t.Errorf("the registry was asked %d times about team B's repositories", n)
		}
	})

	t.Run("Verify answers only for readable repositories", func(t *testing.T) {
		for _, img := range []string{privateTag, private, h + "/teamb/missing:v1"} {
			if _, err := verifyAs("e2e-team-a", img); code(err) != connect.CodePermissionDenied || !strings.Contains(err.Error(), "may not read") {
				t.Errorf("Verify(%s) = %v, want PermissionDenied", img, err)
			}
		}
		if n := teamB.Load(); n != 0 {
			t.Errorf("the registry was asked %d times about team B's repositories", n)
		}
		if own == "" {
			t.Fatal("no image of team A's to verify")
		}
		resp, err := verifyAs("e2e-team-a", own)
		if err != nil || !resp.GetAllowed() {
			t.Errorf("Verify(%s) = %v, %v; want allowed", own, resp.GetReasons(), err)
		}
	})

	t.Run("a pull grant lets the build read", func(t *testing.T) {
		c := hallmarkv1connectClient(gw, token(t, "e2e-team-a-pull"))
		df := "FROM " + privateTag + "\nCOPY --from=" + private + " /etc/os-release /teamb-os-release\nCOPY --from=" + base + " /etc/os-release /base-os-release\nUSER 65532\n"
		if _, _, err := build(t.Context(), c, dockerfileRequest(t, c, df, h+"/teama/pulled:v1")); err != nil {
			t.Fatalf("build: %v", err)
		}
		if teamB.Load() == 0 {
			t.Error("the build never read team B's image")
		}
	})

	t.Run("a read-only rule verifies and never pushes", func(t *testing.T) {
		resp, err := verifyAs("e2e-release", privateTag)
		if err != nil || resp.GetAllowed() || resp.GetDigest() == "" {
			t.Errorf("Verify(%s) = %v, %v; want a verdict (denied: the copy is not attested)", privateTag, resp, err)
		}
		if _, err := verifyAs("e2e-release", "127.0.0.1:1/e2e/x:v1"); code(err) != connect.CodeUnavailable {
			t.Errorf("Verify on a registry that is down = %v, want Unavailable", err)
		}
		c := hallmarkv1connectClient(gw, token(t, "e2e-release"))
		// A read-only rule may not make the gateway hold a context …
		_, err = upload(t.Context(), c, makeTar(t, tarEntry{name: "README", body: "release"}))
		if code(err) != connect.CodePermissionDenied || !strings.Contains(err.Error(), "no authorization rule that may push") {
			t.Errorf("UploadContext = %v, want PermissionDenied (no rule that may push)", err)
		}
		// … nor push, whatever context it names.
		req := buildRequest("sha256:"+strings.Repeat("0", 64), h+"/teama/release:v1")
		req.DockerfileInline = []byte("FROM " + base + "\nUSER 65532\n")
		_, _, err = build(t.Context(), c, req)
		if code(err) != connect.CodePermissionDenied || !strings.Contains(err.Error(), "may not push") {
			t.Errorf("build = %v, want PermissionDenied (may not push)", err)
		}
	})

	t.Run("a rule without pull patterns reads the base allowlist", func(t *testing.T) {
		allowed := copyInto(t, reg, st.BaseImage, "base/static", "v1")
		gw := startGatewayWith(t, gatewayOpts{
			buildkit: st.BuildKit, registry: h,
			rules:     fmt.Sprintf("[{issuer: {{issuer}}, subject: e2e-team-a, repositories: [%q]}]", h+"/teama/**"),
			extraYAML: fmt.Sprintf("policy:\n  baseImages:\n    allow: [%q]\n", h+"/base/*") + verifyPolicy,
		})
		if resp, err := verifyAt(gw, "e2e-team-a", allowed); err != nil || resp.GetDigest() == "" {
			t.Errorf("Verify(%s) = %v, %v; want a verdict", allowed, resp, err)
		}
		if _, err := verifyAt(gw, "e2e-team-a", privateTag); code(err) != connect.CodePermissionDenied {
			t.Errorf("Verify(%s) = %v, want PermissionDenied", privateTag, err)
		}
	})
}

// copyInto copies the image or index src (by digest) to repo:tag of reg,
// and returns it pinned there.
func copyInto(t *testing.T, reg *registrytest.Registry, src, repo, tag string) string {
	t.Helper()
	desc, err := remoteImage(t, src)
	if err != nil {
		t.Fatal(err)
	}
	var w remote.Taggable
	if desc.MediaType.IsIndex() {
		w, err = desc.ImageIndex()
	} else {
		w, err = desc.Image()
	}
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := reg.Push(t, repo, tag, w)
	return ref.String()
}

// TestAdmissionOutsideCallerScope: the admission webhook is the cluster's,
// not a caller's, so it verifies an image in a registry no authorization
// rule covers (here: unsigned, so denied for its attestations, not for
// who asks).
func TestAdmissionOutsideCallerScope(t *testing.T) {
	reg := registrytest.New(t)
	img, _ := reg.PushRandom(t, "elsewhere/app", "v1")
	pod := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"x"},"spec":{"containers":[{"name":"app","image":%q}]}}`, img.String())
	review := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-scope","kind":{"group":"","version":"v1","kind":"Pod"},` +
		`"resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","namespace":"x","object":` + pod + `}}`
	out := postReview(t, webhookClient(t), env.stack.Admission, []byte(review))
	if out.UID != "u-scope" {
		t.Fatalf("review answer %+v, want uid u-scope", out)
	}
	msg := out.Status.Message
	if out.Allowed || !strings.Contains(msg, img.String()) || !strings.Contains(msg, "no attestations") || strings.Contains(msg, "may not read") {
		t.Errorf("webhook answered allowed=%v %q; want the image verified and denied for its missing attestations", out.Allowed, msg)
	}
	if reg.Requests() == 0 {
		t.Error("the webhook never asked the registry")
	}
}
