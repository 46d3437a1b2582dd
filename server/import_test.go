package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/provenance"
	"github.com/hallmark-dev/hallmark/internal/config"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// importRules: "importer" pushes to reg.example/team-a/**, "reader" only
// reads it.
var importRules = []config.Rule{
	{Issuer: "{{issuer}}", Subject: "importer", Repositories: []string{"reg.example/team-a/**"}},
	{Issuer: "{{issuer}}", Subject: "reader", Pull: []string{"reg.example/team-a/**"}},
}

// refVerifier answers Verify with the verdict (or error) of the reference
// asked for, counting calls; an unknown reference is not found.
type refVerifier struct {
	mu       sync.Mutex
	verdicts map[string]*verify.Verdict
	errs     map[string]error
	calls    []verify.Request
}

func (f *refVerifier) Verify(_ context.Context, req verify.Request) (*verify.Verdict, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req)
	if err := f.errs[req.Ref]; err != nil {
		return nil, err
	}
	v, ok := f.verdicts[req.Ref]
	if !ok {
		return nil, fmt.Errorf("%w: manifest unknown", hallmark.ErrNotFound)
	}
	out := *v
	out.Ref = req.Ref
	return &out, nil
}

func (f *refVerifier) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// importEnv is a gateway with a SQLite store and verifier v, and a token
// per subject of importRules.
type importEnv struct {
	*testEnv
	db     *store.DB
	tokens map[string]string
}

func newImportEnv(t *testing.T, v Verifier) *importEnv {
	t.Helper()
	db, err := store.Open(t.Context(), store.DriverSQLite, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := newTestEnv(t, &fakeBuilder{}, envConfig{rules: importRules, opts: []Option{WithStore(db), WithVerifier(v)}})
	ie := &importEnv{testEnv: e, db: db, tokens: map[string]string{}}
	for _, sub := range []string{"importer", "reader", "stranger"} {
		ie.tokens[sub] = e.mint(t, sub, testAudience)
	}
	return ie
}

// importAll calls ImportImages as subject and collects the results.
func (e *importEnv) importAll(t *testing.T, subject string, req *hallmarkv1.ImportImagesRequest) ([]*hallmarkv1.ImportImagesResponse, error) {
	t.Helper()
	hc := &http.Client{Transport: bearer{base: e.srv.Client().Transport, token: e.tokens[subject]}}
	stream, err := hallmarkv1connect.NewStoreServiceClient(hc, e.srv.URL).ImportImages(t.Context(), connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	var out []*hallmarkv1.ImportImagesResponse
	for stream.Receive() {
		out = append(out, stream.Msg())
	}
	return out, stream.Err()
}

var (
	impDigest   = fixDigest("a")
	impBase     = fixDigest("1")
	impGolang   = fixDigest("9")
	impT0       = time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	impPackages = []string{"pkg:deb/debian/openssl@3.0.11?arch=amd64", "pkg:golang/stdlib@1.26.8"}
)

// hallmarkProvenance is the provenance predicate a Hallmark gateway
// writes for a build of repo on reg.example/base:12 (runtime) and golang,
// as a verdict's Input carries it.
func hallmarkProvenance(t *testing.T, repo string) map[string]any {
	t.Helper()
	req := hallmark.BuildRequest{
		ID: "b-20261001T080000-0a0b0c0d", ContextDigest: fixDigest("c"), Dockerfile: "Dockerfile", Repository: repo,
		Tags:      []string{repo + ":v1"},
		Requester: hallmark.Identity{Issuer: "https://ci.example", Subject: "repo:acme/app:ref:refs/heads/main", Claims: map[string]any{"ref": "refs/heads/main", "jti": "x"}},
	}
	res := hallmark.BuildResult{
		ID: req.ID, Digest: impDigest, Repository: repo, Started: impT0, Solved: impT0.Add(time.Minute), Frontend: provenance.FrontendDockerfile,
		DockerfileDigest: fixDigest("d"), BuildKit: hallmark.BuildKitInfo{Version: "v0.34.2"},
		Bases: []hallmark.ResolvedBase{
			{Ref: "reg.example/base:12", Pinned: "reg.example/base@" + impBase.String(), Digest: impBase},
			{Ref: "golang:1.26", Pinned: "index.docker.io/library/golang@" + impGolang.String(), Digest: impGolang},
		},
		BasePolicy: &hallmark.BasePolicy{Mode: "pin", Bases: []hallmark.BaseDecision{
			{Ref: "golang:1.26", Digest: impGolang}, {Ref: "reg.example/base:12", Digest: impBase, Runtime: true}}},
	}
	data, err := provenance.Predicate(provenance.Build{Request: req, Result: res, BuilderID: "https://hallmark.example/builders/prod"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// spdx is an SPDX document describing an image (whose own purl is not a
// package of it) with packages purls.
func spdx(purls ...string) map[string]any {
	pkgs := []any{map[string]any{"SPDXID": "SPDXRef-Image", "externalRefs": []any{
		map[string]any{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:oci/app@sha256%3A00"}}}}
	for i, p := range purls {
		pkgs = append(pkgs, map[string]any{"SPDXID": fmt.Sprintf("SPDXRef-Package-%d", i), "externalRefs": []any{
			map[string]any{"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:a:x:y:1:*:*:*:*:*:*:*"},
			map[string]any{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": p}}})
	}
	return map[string]any{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "packages": pkgs,
		"relationships": []any{map[string]any{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Image"}}}
}

// allowedVerdict is a verdict that allows repo@impDigest, with a verified
// provenance and SBOM and a bundle that did not verify.
func allowedVerdict(t *testing.T, repo string) *verify.Verdict {
	at := impT0.Add(2 * time.Minute)
	return &verify.Verdict{
		Digest: impDigest, Pinned: repo + "@" + impDigest.String(), Policy: "gateway-built", Allowed: true,
		Attestations: []verify.Attestation{
			{Referrer: verify.Referrer{Digest: fixDigest("e")}, PredicateType: hallmark.PredicateSLSAProvenanceV1, Verified: true,
				SignerIdentity: "https://hallmark.example/builders/prod", SignerIssuer: "https://ci.example", LogIndex: 7, Timestamp: at},
			{Referrer: verify.Referrer{Digest: fixDigest("f")}, PredicateType: hallmark.PredicateSPDX, Verified: true, LogIndex: 8, Timestamp: at},
			{Referrer: verify.Referrer{Digest: fixDigest("0")}, PredicateType: hallmark.PredicateSPDX, Failure: "bad signature", LogIndex: -1},
		},
		Input: policy.Input{Provenance: hallmarkProvenance(t, repo), SBOM: spdx(impPackages...)},
	}
}
