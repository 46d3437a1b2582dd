//go:build e2e

package e2e

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/devstack"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

var example struct {
	once   sync.Once
	tag    string
	pinned string
	err    error
	stderr string
}

// attestedExample builds examples/hello through the gateway once and
// returns its tag and pinned reference.
func attestedExample(t testing.TB) (tag, pinned string) {
	t.Helper()
	example.once.Do(func() {
		st := env.stack.State
		example.tag = st.Registry + "/e2e/verify:v1"
		var stdout string
		stdout, example.stderr, example.err = runCLI(t, helloBuild("--progress", "plain", "-t", example.tag)...)
		example.pinned = strings.TrimSpace(stdout)
	})
	if example.err != nil {
		t.Fatalf("build the example: %v\n%s", example.err, example.stderr)
	}
	return example.tag, example.pinned
}

func verifyClient(t testing.TB) hallmarkv1connect.VerifyServiceClient {
	return hallmarkv1connect.NewVerifyServiceClient(h2c(), env.stack.Gateway, connect.WithInterceptors(bearer(token(t, "release-eng"))))
}

func verifyRPC(t *testing.T, image, policy string) (*hallmarkv1.VerifyResponse, error) {
	t.Helper()
	resp, err := verifyClient(t).Verify(t.Context(), connect.NewRequest(&hallmarkv1.VerifyRequest{Image: image, Policy: policy}))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func TestVerifyAllowed(t *testing.T) {
	tag, pinned := attestedExample(t)
	resp, err := verifyRPC(t, tag, "")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !resp.GetAllowed() || len(resp.GetReasons()) != 0 {
		t.Fatalf("Verify(%s) denied: %v", tag, resp.GetReasons())
	}
	if resp.GetPinned() != pinned || resp.GetPolicy() != devstack.PolicyName || !strings.HasPrefix(resp.GetPolicyHash(), "sha256:") {
		t.Errorf("pinned %q policy %q hash %q, want %q %q", resp.GetPinned(), resp.GetPolicy(), resp.GetPolicyHash(), pinned, devstack.PolicyName)
	}
	verified := map[string]bool{}
	for _, a := range resp.GetAttestations() {
		if a.GetVerified() {
			verified[a.GetPredicateType()] = true
			if a.GetSignerIdentity() != devstack.BuilderID || a.GetLogIndex() < 0 || a.GetTimestamp() == nil {
				t.Errorf("attestation %+v: want the gateway's identity, a log index and a timestamp", a)
			}
		}
	}
	if !verified[hallmark.PredicateSLSAProvenanceV1] || !verified[hallmark.PredicateSPDX] {
		t.Errorf("verified %v, want provenance and SBOM", verified)
	}
	names := map[string]bool{}
	for _, r := range resp.GetRules() {
		names[r.GetName()] = r.GetPassed()
	}
	for _, n := range []string{"signers", "builders", "requirePredicateType:" + hallmark.PredicateSPDX} {
		if !names[n] {
			t.Errorf("rule %s missing or failed: %v", n, resp.GetRules())
		}
	}
	// The same digest again comes from the cache, through the tag and by digest.
	for _, ref := range []string{tag, pinned} {
		again, err := verifyRPC(t, ref, "")
		if err != nil || !again.GetAllowed() || !again.GetCached() {
			t.Errorf("second Verify(%s) = %v, %v; want a cached allowed verdict", ref, again, err)
		}
	}
}

// TestVerifyHTTPGet calls Verify the way curl in CI would: a plain GET.
func TestVerifyHTTPGet(t *testing.T) {
	_, pinned := attestedExample(t)
	q := url.Values{"encoding": {"json"}, "message": {`{"image":"` + pinned + `"}`}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, env.stack.Gateway+"/hallmark.v1.VerifyService/Verify?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token(t, "ci"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Allowed bool   `json:"allowed"`
		Digest  string `json:"digest"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET Verify: %s, %v", resp.Status, err)
	}
	if !out.Allowed || !strings.HasSuffix(pinned, "@"+out.Digest) {
		t.Errorf("GET Verify = %+v, want allowed for %s", out, pinned)
	}

	req.Header.Del("Authorization")
	anon, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	anon.Body.Close()
	if anon.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET Verify without a token: %s, want 401", anon.Status)
	}
}

func TestVerifyCLI(t *testing.T) {
	tag, pinned := attestedExample(t)
	stdout, stderr, err := runCLI(t, "verify", tag)
	if err != nil || !strings.HasPrefix(stdout, "ALLOWED "+pinned) {
		t.Fatalf("hallmark verify: %v\n%s\n%s", err, stdout, stderr)
	}
	stdout, stderr, err = runCLI(t, "verify", "--offline", "--policy", env.stack.Policy, "--output", "json", tag)
	if err != nil {
		t.Fatalf("hallmark verify --offline: %v\n%s\n%s", err, stdout, stderr)
	}
	var out hallmarkv1.VerifyResponse
	if err := protojson.Unmarshal([]byte(stdout), &out); err != nil || !out.GetAllowed() || out.GetPinned() != pinned {
		t.Errorf("offline JSON verdict: %v, %v", err, stdout)
	}
	// A policy that requires what the image lacks denies it: exit 1.
	strict := filepath.Join(t.TempDir(), "strict.yaml")
	data, err := os.ReadFile(env.stack.Policy)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(data), "requirePredicateTypes:\n", "requirePredicateTypes:\n    - https://example.com/custom/v1\n", 1)
	if err := os.WriteFile(strict, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err = runCLI(t, "policy", "test", strict, tag)
	if code := exitCode(err); code != 1 || !strings.Contains(stderr, "no verified https://example.com/custom/v1") {
		t.Errorf("policy test with a missing predicate type: exit %d\n%s\n%s", code, stdout, stderr)
	}
	_, stderr, err = runCLI(t, "verify", env.stack.Registry+"/e2e/verify:missing")
	if code := exitCode(err); code != 2 || !strings.Contains(stderr, "not_found") && !strings.Contains(stderr, "does not exist") {
		t.Errorf("verify of a missing tag: exit %d, want 2\n%s", code, stderr)
	}
}

func TestVerifyVSA(t *testing.T) {
	_, pinned := attestedExample(t)
	file := filepath.Join(t.TempDir(), "vsa.json")
	stdout, stderr, err := runCLI(t, "verify", "--vsa", file, pinned)
	if err != nil {
		t.Fatalf("hallmark verify --vsa: %v\n%s\n%s", err, stdout, stderr)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		t.Fatalf("parse VSA bundle: %v", err)
	}
	v, id := gatewayVerifier(t)
	digest := pinned[strings.Index(pinned, "@sha256:")+len("@sha256:"):]
	raw, err := hex.DecodeString(digest)
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(&b, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha256", raw), sgverify.WithCertificateIdentity(id)))
	if err != nil {
		t.Fatalf("verify VSA bundle: %v", err)
	}
	if res.Statement.GetPredicateType() != hallmark.PredicateVSA {
		t.Errorf("predicate type %q", res.Statement.GetPredicateType())
	}
	pred, _ := json.Marshal(res.Statement.GetPredicate())
	for _, want := range []string{`"verificationResult":"PASSED"`, `"resourceUri":"` + pinned + `"`, "SLSA_BUILD_LEVEL_3", "https://hallmark.dev/verifiers/dev"} {
		if !strings.Contains(string(pred), want) {
			t.Errorf("VSA predicate lacks %s: %s", want, pred)
		}
	}
}

func TestVerifyBadInput(t *testing.T) {
	st := env.stack.State
	for _, tc := range []struct {
		name, image, policy string
		code                connect.Code
	}{
		{"empty", "", "", connect.CodeInvalidArgument},
		{"malformed", "UPPER/Case::x", "", connect.CodeInvalidArgument},
		{"too long", st.Registry + "/" + strings.Repeat("a", 600) + ":v1", "", connect.CodeInvalidArgument},
		{"missing image", st.Registry + "/e2e/nothing:v1", "", connect.CodeNotFound},
		{"unknown policy", st.Registry + "/e2e/verify:v1", "no-such-policy", connect.CodeNotFound},
		// The stack's rule reads only its registry; TestPullScope has a
		// registry that is down.
		{"registry not readable", "127.0.0.1:1/e2e/x:v1", "", connect.CodePermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifyRPC(t, tc.image, tc.policy)
			if connect.CodeOf(err) != tc.code {
				t.Errorf("Verify(%q, %q) = %v, want %s", tc.image, tc.policy, err, tc.code)
			}
		})
	}
}

// TestVerifyTagMovedAfterCachedSuccess moves a verified tag to an unsigned
// image: the cached success must not answer for the tag.
func TestVerifyTagMovedAfterCachedSuccess(t *testing.T) {
	_, pinned := attestedExample(t)
	st := env.stack.State
	tag := st.Registry + "/e2e/verify:moving"
	copyImage(t, pinned, tag)
	if resp, err := verifyRPC(t, tag, ""); err != nil || !resp.GetAllowed() {
		t.Fatalf("Verify before the move: %v, %v", resp, err)
	}
	unsigned := pushRandom(t, st.Registry+"/e2e/verify:unsigned")
	copyImage(t, unsigned, tag)
	resp, err := verifyRPC(t, tag, "")
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetAllowed() || resp.GetCached() || !strings.HasSuffix(unsigned, "@"+resp.GetDigest()) {
		t.Errorf("Verify after the tag moved = allowed %v cached %v digest %s; want a fresh denial of %s", resp.GetAllowed(), resp.GetCached(), resp.GetDigest(), unsigned)
	}
}

// copyImage copies src (by digest) to the tag dst.
func copyImage(t testing.TB, src, dst string) {
	t.Helper()
	s, err := name.ParseReference(src, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	d, err := name.ParseReference(dst, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(s, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(d, img, remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
}

// pushRandom pushes a random unsigned image to tag and returns it pinned.
func pushRandom(t testing.TB, tag string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.String()).String()
}

// TestStackBasesVerify: the dev stack's Debian bases, built by the gateway
// itself, pass the gateway's own policy.
func TestStackBasesVerify(t *testing.T) {
	st := env.stack.State
	for _, img := range []string{st.BaseImage, st.DebianBaseImage} {
		if img == "" {
			t.Fatal("the stack has no Debian base image")
		}
		resp, err := verifyRPC(t, img, "")
		if err != nil || !resp.GetAllowed() {
			t.Errorf("Verify(%s) = %v, %v; want allowed", img, resp.GetReasons(), err)
		}
	}
}
