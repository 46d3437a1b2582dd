package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/config"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// fakeVerifier answers Verify with verdict or err, counting calls.
type fakeVerifier struct {
	calls   atomic.Int64
	last    atomic.Pointer[verify.Request]
	verdict *verify.Verdict
	err     error
}

func (f *fakeVerifier) Verify(_ context.Context, req verify.Request) (*verify.Verdict, error) {
	f.calls.Add(1)
	f.last.Store(&req)
	if f.err != nil {
		return nil, f.err
	}
	v := *f.verdict
	v.Ref = req.Ref
	return &v, nil
}

func testVerdict() *verify.Verdict {
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	d := hallmark.Digest("sha256:" + strings.Repeat("ab", 32))
	return &verify.Verdict{
		Digest: d, Pinned: "registry.example.com/acme/app@" + d.String(),
		Policy: "gateway-built", PolicyHash: "sha256:" + strings.Repeat("cd", 32),
		Allowed: false, Reasons: []string{`rule "builders": builder "x" is not allowed`},
		Attestations: []verify.Attestation{
			{PredicateType: hallmark.PredicateSLSAProvenanceV1, Verified: true, SignerIdentity: "https://hallmark.dev/builders/dev",
				SignerIssuer: "https://issuer.example", LogIndex: 7, Timestamp: at},
			{PredicateType: hallmark.PredicateSPDX, Failure: "verify bundle: bad signature", LogIndex: -1},
		},
		Rules:       []policy.RuleResult{{Name: "signers", Passed: true}, {Name: "builders", Message: `builder "x" is not allowed`}},
		EvaluatedAt: at, Cached: true,
		VSA: &verify.VSA{Signed: &verify.SignedStatement{Bundle: []byte(`{"vsa":true}`)}},
	}
}

func (e *testEnv) verifyClient(token string, opts ...connect.ClientOption) hallmarkv1connect.VerifyServiceClient {
	hc := e.srv.Client()
	if token != "" {
		hc = &http.Client{Transport: bearer{base: hc.Transport, token: token}}
	}
	return hallmarkv1connect.NewVerifyServiceClient(hc, e.srv.URL, opts...)
}

func TestVerifyRPC(t *testing.T) {
	fv := &fakeVerifier{verdict: testVerdict()}
	e := newTestEnv(t, &fakeBuilder{}, envConfig{opts: []Option{WithVerifier(fv)}})
	resp, err := e.verifyClient(e.token, connect.WithHTTPGet()).Verify(t.Context(),
		connect.NewRequest(&hallmarkv1.VerifyRequest{Image: "registry.example.com/acme/app:v1", Policy: "gateway-built", Vsa: true}))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	got := resp.Msg
	if last := fv.last.Load(); last == nil || last.Ref != "registry.example.com/acme/app:v1" || last.Policy != "gateway-built" || !last.VSA {
		t.Errorf("verifier got %+v", last)
	}
	want := testVerdict()
	if got.GetAllowed() || got.GetImage() != "registry.example.com/acme/app:v1" || got.GetDigest() != want.Digest.String() ||
		got.GetPolicyHash() != want.PolicyHash || !got.GetCached() || string(got.GetVsaBundle()) != `{"vsa":true}` ||
		len(got.GetReasons()) != 1 || !got.GetEvaluatedAt().AsTime().Equal(want.EvaluatedAt) {
		t.Errorf("response = %v", got)
	}
	if a := got.GetAttestations(); len(a) != 2 || !a[0].GetVerified() || a[0].GetLogIndex() != 7 || a[1].GetFailure() == "" || a[1].GetTimestamp() != nil {
		t.Errorf("attestations = %v", a)
	}
	if r := got.GetRules(); len(r) != 2 || !r[0].GetPassed() || r[1].GetPassed() || r[1].GetMessage() == "" {
		t.Errorf("rules = %v", r)
	}
}

// TestVerifyRPCPlatform: the platform selection reaches the verifier, and
// an index's verdict comes back per platform.
func TestVerifyRPCPlatform(t *testing.T) {
	v := testVerdict()
	v.Platform = "linux/arm64"
	d := hallmark.Digest("sha256:" + strings.Repeat("ef", 32))
	v.Platforms = []verify.PlatformVerdict{{Platform: "linux/arm64", Digest: d, Pinned: "registry.example.com/acme/app@" + d.String(),
		Reasons: []string{`rule "signers": the image has no attestations`},
		Rules:   []policy.RuleResult{{Name: "signers", Message: "the image has no attestations"}}}}
	fv := &fakeVerifier{verdict: v}
	e := newTestEnv(t, &fakeBuilder{}, envConfig{opts: []Option{WithVerifier(fv)}})
	resp, err := e.verifyClient(e.token, connect.WithHTTPGet()).Verify(t.Context(),
		connect.NewRequest(&hallmarkv1.VerifyRequest{Image: "registry.example.com/acme/app:v1", Platform: "linux/arm64"}))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if last := fv.last.Load(); last == nil || last.Platform != "linux/arm64" {
		t.Errorf("verifier got %+v", last)
	}
	got := resp.Msg
	if p := got.GetPlatforms(); got.GetPlatform() != "linux/arm64" || len(p) != 1 || p[0].GetPlatform() != "linux/arm64" ||
		p[0].GetDigest() != d.String() || p[0].GetAllowed() || len(p[0].GetReasons()) != 1 || len(p[0].GetRules()) != 1 {
		t.Errorf("response = %v", got)
	}
}

func TestVerifyRPCErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		req   *hallmarkv1.VerifyRequest
		err   error
		code  connect.Code
		calls int64
	}{
		{"no image", &hallmarkv1.VerifyRequest{}, nil, connect.CodeInvalidArgument, 0},
		{"image too long", &hallmarkv1.VerifyRequest{Image: strings.Repeat("a", 513)}, nil, connect.CodeInvalidArgument, 0},
		{"policy too long", &hallmarkv1.VerifyRequest{Image: ownImage, Policy: strings.Repeat("p", 254)}, nil, connect.CodeInvalidArgument, 0},
		{"platform malformed", &hallmarkv1.VerifyRequest{Image: ownImage, Platform: "arm64"}, nil, connect.CodeInvalidArgument, 0},
		{"malformed image", &hallmarkv1.VerifyRequest{Image: "UPPER/Case::x"}, nil, connect.CodeInvalidArgument, 0},
		{"not readable", &hallmarkv1.VerifyRequest{Image: "a/b:c"}, nil, connect.CodePermissionDenied, 0},
		{"no such image", &hallmarkv1.VerifyRequest{Image: ownImage}, fmt.Errorf("resolve: %w", hallmark.ErrNotFound), connect.CodeNotFound, 1},
		{"registry down", &hallmarkv1.VerifyRequest{Image: ownImage}, fmt.Errorf("list: %w", hallmark.ErrUnavailable), connect.CodeUnavailable, 1},
		{"internal", &hallmarkv1.VerifyRequest{Image: ownImage}, errors.New("boom /secret/path"), connect.CodeInternal, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fv := &fakeVerifier{verdict: testVerdict(), err: tc.err}
			e := newTestEnv(t, &fakeBuilder{}, envConfig{opts: []Option{WithVerifier(fv)}})
			_, err := e.verifyClient(e.token).Verify(t.Context(), connect.NewRequest(tc.req))
			if connect.CodeOf(err) != tc.code || fv.calls.Load() != tc.calls {
				t.Errorf("Verify = %v (%d calls), want %s (%d calls)", err, fv.calls.Load(), tc.code, tc.calls)
			}
			if strings.Contains(fmt.Sprint(err), "/secret/path") {
				t.Errorf("internal cause leaked: %v", err)
			}
		})
	}
}

// ownImage is in the repositories of the test environment's default rule.
const ownImage = "registry.example.com/acme/b:c"

// TestVerifyRPCReadScope: Verify answers only for repositories the
// caller's rules let it read, and refuses the others before the verifier
// (and so any registry) is asked, the same way whether the image exists
// or not.
func TestVerifyRPCReadScope(t *testing.T) {
	const digest = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	rules := []config.Rule{
		// testSubject: push to acme, read acme and the base allowlist.
		{Issuer: "{{issuer}}", Subject: testSubject, Repositories: []string{"registry.example.com/acme/**"}},
		// release engineers: read-only, every team.
		{Issuer: "{{issuer}}", Subject: "release-eng", Pull: []string{"registry.example.com/**"}},
		// team b: push to teamb, read teamb and Docker Hub's official images.
		{Issuer: "{{issuer}}", Subject: "team-b", Repositories: []string{"registry.example.com/teamb/*"}, Pull: []string{"docker.io/library/*"}},
	}
	allow := WithBaseImageAllowlist("registry.example.com/base/**", "ghcr.io/acme/*")
	tests := []struct {
		subject, image string
		want           connect.Code // CodeOK: the verifier answers
	}{
		{testSubject, "registry.example.com/acme/app:v1", 0},
		{testSubject, "registry.example.com/acme/team/app" + digest, 0},
		{testSubject, "registry.example.com/base/debian:12", 0},
		{testSubject, "ghcr.io/acme/base:v1", 0},
		{testSubject, "registry.example.com/teamb/private:v1", connect.CodePermissionDenied},
		{testSubject, "registry.example.com/teamb/private" + digest, connect.CodePermissionDenied},
		{testSubject, "registry.example.com/teamb/does-not-exist:v1", connect.CodePermissionDenied},
		{testSubject, "registry.example.com/acme", connect.CodePermissionDenied},
		{testSubject, "alpine:3.20", connect.CodePermissionDenied},
		{"release-eng", "registry.example.com/teamb/private:v1", 0},
		{"release-eng", "registry.example.com/acme/app" + digest, 0},
		{"release-eng", "ghcr.io/acme/base:v1", connect.CodePermissionDenied},
		// A rule with pull patterns does not read the base allowlist.
		{"team-b", "registry.example.com/base/debian:12", connect.CodePermissionDenied},
		{"team-b", "registry.example.com/teamb/private:v1", 0},
		{"team-b", "registry.example.com/acme/app:v1", connect.CodePermissionDenied},
		// Docker Hub as the verifier parses it (index.docker.io/library/…)
		// against a pattern written the way Docker spells it.
		{"team-b", "alpine:3.20", 0},
		{"team-b", "docker.io/library/alpine" + digest, 0},
		{"team-b", "index.docker.io/library/alpine:3.20", 0},
		{"team-b", "acme/app:v1", connect.CodePermissionDenied},
		{"nobody", "registry.example.com/acme/app:v1", connect.CodePermissionDenied},
	}
	fv := &fakeVerifier{verdict: testVerdict()}
	e := newTestEnv(t, &fakeBuilder{}, envConfig{opts: []Option{WithVerifier(fv)}, rules: rules, authzOpts: []AuthorizerOption{allow}})
	for _, tt := range tests {
		t.Run(tt.subject+"/"+tt.image, func(t *testing.T) {
			before := fv.calls.Load()
			_, err := e.verifyClient(e.mint(t, tt.subject, testAudience)).Verify(t.Context(), connect.NewRequest(&hallmarkv1.VerifyRequest{Image: tt.image}))
			calls := fv.calls.Load() - before
			if tt.want == 0 {
				if err != nil || calls != 1 {
					t.Fatalf("Verify = %v (%d calls), want a verdict", err, calls)
				}
				return
			}
			if connect.CodeOf(err) != tt.want || calls != 0 {
				t.Fatalf("Verify = %v (%d calls), want %s before the verifier", err, calls, tt.want)
			}
			if !strings.Contains(err.Error(), "may not read") || !strings.Contains(err.Error(), tt.subject) {
				t.Errorf("error %q does not say who may not read what", err)
			}
		})
	}
}

func TestVerifyRPCNeedsToken(t *testing.T) {
	fv := &fakeVerifier{verdict: testVerdict()}
	e := newTestEnv(t, &fakeBuilder{}, envConfig{opts: []Option{WithVerifier(fv)}})
	_, err := e.verifyClient("").Verify(t.Context(), connect.NewRequest(&hallmarkv1.VerifyRequest{Image: "a/b:c"}))
	if connect.CodeOf(err) != connect.CodeUnauthenticated || fv.calls.Load() != 0 {
		t.Errorf("Verify without a token = %v, want Unauthenticated and no verification", err)
	}
}

func TestVerifyServiceOnlyWithVerifier(t *testing.T) {
	e := newTestEnv(t, &fakeBuilder{}, envConfig{})
	q := url.Values{"encoding": {"json"}, "message": {`{"image":"a/b:c"}`}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+"/hallmark.v1.VerifyService/Verify?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("VerifyService without a verifier: %s, want 404", resp.Status)
	}
}

// BenchmarkVerifyRPC is one Verify call answered at once by the verifier
// (as from the verdict cache): authentication, Connect over HTTP/2 TLS,
// conversion and logging.
func BenchmarkVerifyRPC(b *testing.B) {
	fv := &fakeVerifier{verdict: testVerdict()}
	e := newTestEnv(b, &fakeBuilder{}, envConfig{opts: []Option{WithVerifier(fv)}})
	c := e.verifyClient(e.token)
	req := connect.NewRequest(&hallmarkv1.VerifyRequest{Image: "registry.example.com/acme/app:v1"})
	for b.Loop() {
		if _, err := c.Verify(b.Context(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSmallResponsesUncompressed: a verdict is sent as it is even to a
// caller that accepts gzip (compressing a few KiB costs more than sending
// them); the compression threshold is compressMinBytes.
func TestSmallResponsesUncompressed(t *testing.T) {
	fv := &fakeVerifier{verdict: testVerdict()}
	e := newTestEnv(t, &fakeBuilder{}, envConfig{opts: []Option{WithVerifier(fv)}})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/hallmark.v1.VerifyService/Verify", strings.NewReader(`{"image":"registry.example.com/acme/app:v1"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "" || !json.Valid(body) || len(body) >= compressMinBytes {
		t.Fatalf("Verify: %s, Content-Encoding %q, %d bytes: want an uncompressed JSON verdict under %d bytes", resp.Status, resp.Header.Get("Content-Encoding"), len(body), compressMinBytes)
	}
}
