package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/provenance"
	"github.com/hallmark-dev/hallmark/attest/publish"
	"github.com/hallmark-dev/hallmark/attest/sign"
	"github.com/hallmark-dev/hallmark/attest/sign/signtest"
	"github.com/hallmark-dev/hallmark/internal/devstack"
	"github.com/hallmark-dev/hallmark/internal/golden"
	"github.com/hallmark-dev/hallmark/internal/intoto"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
	"github.com/hallmark-dev/hallmark/verify"
)

const (
	goldenImage   = hallmark.Digest("sha256:1111111111111111111111111111111111111111111111111111111111111111")
	goldenContext = hallmark.Digest("sha256:c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0")
	goldenGolang  = hallmark.Digest("sha256:2222222222222222222222222222222222222222222222222222222222222222")
	goldenStatic  = hallmark.Digest("sha256:3333333333333333333333333333333333333333333333333333333333333333")
	goldenDF      = hallmark.Digest("sha256:4444444444444444444444444444444444444444444444444444444444444444")
	testIssuer    = "https://issuer.hallmark.test"
)

// testSPDX is an SBOM as Hallmark writes it, cut down: the image (which the
// document describes) and five packages.
const testSPDX = `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"registry.example/acme/app@sha256:1111111111111111111111111111111111111111111111111111111111111111",` +
	`"documentNamespace":"https://hallmark.dev/spdx/test","creationInfo":{"creators":["Tool: hallmark-test"],"created":"2026-03-14T14:10:08Z"},` +
	`"packages":[` +
	`{"name":"registry.example/acme/app","SPDXID":"SPDXRef-Image","versionInfo":"sha256:1111111111111111111111111111111111111111111111111111111111111111","downloadLocation":"NOASSERTION","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:oci/app@sha256%3A1111111111111111111111111111111111111111111111111111111111111111"}]},` +
	`{"name":"stdlib","SPDXID":"SPDXRef-Package-golang-stdlib","versionInfo":"go1.26.8","downloadLocation":"NOASSERTION","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:golang/stdlib@go1.26.8"}]},` +
	`{"name":"golang.org/x/text","SPDXID":"SPDXRef-Package-golang-text","versionInfo":"v0.43.0","downloadLocation":"NOASSERTION","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:golang/golang.org/x/text@v0.43.0"}]},` +
	`{"name":"base-files","SPDXID":"SPDXRef-Package-deb-base-files","versionInfo":"13.8","downloadLocation":"NOASSERTION","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:deb/debian/base-files@13.8?arch=amd64&distro=debian-13"}]},` +
	`{"name":"tzdata","SPDXID":"SPDXRef-Package-deb-tzdata","versionInfo":"2026a-1","downloadLocation":"NOASSERTION","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:deb/debian/tzdata@2026a-1?arch=all&distro=debian-13"}]},` +
	`{"name":"netbase","SPDXID":"SPDXRef-Package-deb-netbase","versionInfo":"6.5","downloadLocation":"NOASSERTION","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:deb/debian/netbase@6.5?arch=all&distro=debian-13"}]}` +
	`],"relationships":[{"spdxElementId":"SPDXRef-DOCUMENT","relationshipType":"DESCRIBES","relatedSpdxElement":"SPDXRef-Image"}]}`

// testBuild is a finished build of registry.example/acme/app.
func testBuild(repo string, digest hallmark.Digest) provenance.Build {
	started := time.Date(2026, 3, 14, 14, 9, 26, 0, time.UTC)
	return provenance.Build{
		Request: hallmark.BuildRequest{
			ID: "b-0001",
			Requester: hallmark.Identity{Issuer: testIssuer, Subject: "dev-ci", Claims: map[string]any{
				"repository": "acme/app", "ref": "refs/heads/main", "aud": "hallmark",
			}},
			ContextDigest: goldenContext,
			Dockerfile:    "build/Dockerfile",
			Repository:    repo,
			Tags:          []string{repo + ":v1"},
		},
		Result: hallmark.BuildResult{
			ID:         "b-0001",
			Digest:     digest,
			Repository: repo,
			Bases: []hallmark.ResolvedBase{
				{Ref: "registry.example/golang:1.26", Pinned: "registry.example/golang@" + string(goldenGolang), Digest: goldenGolang},
				{Ref: "registry.example/static:v1", Pinned: "registry.example/static@" + string(goldenStatic), Digest: goldenStatic},
			},
			Started:          started,
			Solved:           started.Add(42 * time.Second),
			BuildKit:         hallmark.BuildKitInfo{Version: "v0.34.2", Revision: "89abcdef0123456789abcdef0123456789abcdef"},
			Frontend:         provenance.FrontendDockerfile,
			DockerfileDigest: goldenDF,
		},
		BuilderID:       devstack.BuilderID,
		HallmarkVersion: "test",
	}
}

// testStatement is an in-toto statement about digest with the predicate
// of type typ (provenance of testBuild, or testSPDX).
func testStatement(t *testing.T, repo string, digest hallmark.Digest, typ string) []byte {
	t.Helper()
	pred := []byte(testSPDX)
	if typ == hallmark.PredicateSLSAProvenanceV1 {
		var err error
		if pred, err = provenance.Predicate(testBuild(repo, digest)); err != nil {
			t.Fatal(err)
		}
	}
	st, err := intoto.Statement(repo, digest, typ, json.RawMessage(pred))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func parsedStatement(t *testing.T, data []byte) *intoto.ParsedStatement {
	t.Helper()
	st, err := intoto.Parse(data, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fakeDigest is a well-formed digest made of one repeated hex digit.
func fakeDigest(c byte) hallmark.Digest {
	return hallmark.Digest("sha256:" + strings.Repeat(string(c), 64))
}

// goldenResult is a verification result with a verified provenance and
// SBOM and a provenance that failed.
func goldenResult(t *testing.T) *verify.ImageResult {
	t.Helper()
	repo := "registry.example/acme/app"
	signedAt := time.Date(2026, 3, 14, 14, 10, 9, 0, time.UTC)
	return &verify.ImageResult{
		Ref:    repo + ":v1",
		Digest: goldenImage,
		Pinned: repo + "@" + string(goldenImage),
		Attestations: []verify.Attestation{
			{
				Referrer:      verify.Referrer{Digest: fakeDigest('a'), BundleDigest: fakeDigest('b'), PredicateType: hallmark.PredicateSLSAProvenanceV1},
				PredicateType: hallmark.PredicateSLSAProvenanceV1,
				LogIndex:      -1,
				Failure:       "certificate identity https://evil.example/builder (issuer https://evil.example) does not match the policy",
			},
			{
				Referrer:       verify.Referrer{Digest: fakeDigest('c'), BundleDigest: fakeDigest('d'), PredicateType: hallmark.PredicateSLSAProvenanceV1},
				PredicateType:  hallmark.PredicateSLSAProvenanceV1,
				Statement:      parsedStatement(t, testStatement(t, repo, goldenImage, hallmark.PredicateSLSAProvenanceV1)),
				SignerIdentity: devstack.BuilderID,
				SignerIssuer:   testIssuer,
				LogIndex:       7,
				Timestamp:      signedAt,
				Verified:       true,
			},
			{
				Referrer:       verify.Referrer{Digest: fakeDigest('e'), BundleDigest: fakeDigest('f'), PredicateType: hallmark.PredicateSPDX},
				PredicateType:  hallmark.PredicateSPDX,
				Statement:      parsedStatement(t, testStatement(t, repo, goldenImage, hallmark.PredicateSPDX)),
				SignerIdentity: devstack.BuilderID,
				SignerIssuer:   testIssuer,
				LogIndex:       8,
				Timestamp:      signedAt.Add(time.Second),
				Verified:       true,
			},
		},
	}
}

// unverifiedResult has attestations, none of which verified.
func unverifiedResult(t *testing.T) *verify.ImageResult {
	t.Helper()
	res := goldenResult(t)
	res.Attestations = res.Attestations[:1]
	res.Attestations = append(res.Attestations, verify.Attestation{
		Referrer:      verify.Referrer{Digest: fakeDigest('9'), BundleDigest: fakeDigest('8')},
		LogIndex:      -1,
		Failure:       "bundle is not a JSON object: invalid character '\x1b' looking for beginning of value\nverified  forged line",
		PredicateType: "",
	})
	return res
}

// indexResult is the verification result of an index: a verified
// provenance, no SBOM.
func indexResult(t *testing.T) *verify.ImageResult {
	t.Helper()
	res := goldenResult(t)
	res.Digest, res.Pinned = goldenIndexDigest, "registry.example/acme/app@"+string(goldenIndexDigest)
	res.Attestations = res.Attestations[1:2]
	return res
}

// goldenIndexDigest is the digest of goldenIndex, whose linux/arm64
// manifest is goldenImage.
const goldenIndexDigest = hallmark.Digest("sha256:5555555555555555555555555555555555555555555555555555555555555555")

// goldenIndex is registry.example/acme/app:v1 resolved to an index of
// linux/amd64 and linux/arm64 (goldenImage), with platform selected.
func goldenIndex(platform string) *verify.Resolved {
	repo := "registry.example/acme/app"
	r := &verify.Resolved{Ref: repo + ":v1", Digest: goldenIndexDigest, Pinned: repo + "@" + string(goldenIndexDigest),
		Platforms: []verify.PlatformManifest{
			{Platform: "linux/amd64", Digest: fakeDigest('6'), Pinned: repo + "@" + string(fakeDigest('6'))},
			{Platform: "linux/arm64", Digest: goldenImage, Pinned: repo + "@" + string(goldenImage)},
		}}
	r.Selected = verify.PlatformManifest{Digest: r.Digest, Pinned: r.Pinned}
	if platform != "" {
		r.Platform, r.Selected = platform, r.Platforms[1]
	}
	return r
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func TestInspectGolden(t *testing.T) {
	tests := []struct {
		name string
		res  func(*testing.T) *verify.ImageResult
		// resolved is what the reference resolved to, if not res's image.
		resolved *verify.Resolved
	}{
		{"verified", goldenResult, nil},
		{"unverified", unverifiedResult, nil},
		{"index", indexResult, goldenIndex("")},
		{"platform", goldenResult, goldenIndex("linux/arm64")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := newInspectReport(tt.res(t))
			if tt.resolved != nil {
				rep.setPlatforms(tt.resolved)
			}
			var text, js bytes.Buffer
			if err := rep.writeText(&text); err != nil {
				t.Fatal(err)
			}
			if err := rep.writeJSON(&js); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "inspect-"+tt.name+".txt"), text.Bytes())
			golden.Check(t, filepath.Join("testdata", "inspect-"+tt.name+".json"), js.Bytes())
			if strings.Contains(text.String(), "\x1b") || strings.Contains(text.String(), "\nverified  forged") {
				t.Error("text output passes control characters or newlines from registry data through")
			}
		})
	}
}

func TestInspectReportUsesOnlyVerified(t *testing.T) {
	res := goldenResult(t)
	// The failed attestation carries a statement from another builder; it
	// must not reach the summary.
	evil := testBuild("registry.example/acme/app", goldenImage)
	evil.BuilderID = "https://evil.example/builder"
	pred, err := provenance.Predicate(evil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := intoto.Statement("registry.example/acme/app", goldenImage, hallmark.PredicateSLSAProvenanceV1, json.RawMessage(pred))
	if err != nil {
		t.Fatal(err)
	}
	res.Attestations[0].Statement = parsedStatement(t, st)
	res.Attestations = append(res.Attestations[:2:2], res.Attestations[0]) // also the newest
	rep := newInspectReport(res)
	if !rep.Verified || rep.Provenance == nil || rep.Provenance.BuilderID != devstack.BuilderID {
		t.Fatalf("report = %+v, want the verified provenance's builder", rep.Provenance)
	}
	if rep.SBOM != nil {
		t.Errorf("SBOM summarised although the result lost it: %+v", rep.SBOM)
	}
}

// cliFixture is a fake Sigstore that signs as the dev gateway, an
// in-process registry, and a dev stack state pointing at both.
type cliFixture struct {
	reg    *registrytest.Registry
	host   string
	ss     *signtest.Sigstore
	signer *sign.Signer
	env    verifyEnv
}

func newCLIFixture(t *testing.T) *cliFixture {
	t.Helper()
	ss := signtest.New(t, signtest.WithIdentity(testIssuer, devstack.BuilderID))
	signer, err := sign.New(ss.SigningConfig(t), ss.TrustedRoot(t),
		sign.FuncTokenSource(func(context.Context) (string, error) { return ss.Token(t), nil }))
	if err != nil {
		t.Fatal(err)
	}
	trJSON, err := ss.TrustedRoot(t).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	tr := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(tr, trJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	reg := registrytest.New(t)
	return &cliFixture{
		reg:    reg,
		host:   reg.Host,
		ss:     ss,
		signer: signer,
		env: verifyEnv{
			lookupEnv: envOf(map[string]string{}),
			stack:     runningStack(devstack.State{TrustedRoot: tr, Issuer: testIssuer}),
			registry:  []registry.Option{registry.WithRetryBackoff(remote.Backoff{Steps: 1})},
		},
	}
}

// pushImage pushes a random image as repo:v1 and returns it by digest.
func (f *cliFixture) pushImage(t *testing.T, repo string) name.Digest {
	t.Helper()
	d, _ := f.reg.PushRandom(t, repo, "v1")
	return d
}

// attest signs and publishes the statement of type typ about subject and
// returns the statement.
func (f *cliFixture) attest(t *testing.T, subject name.Digest, typ string) []byte {
	t.Helper()
	st := testStatement(t, subject.Context().Name(), hallmark.Digest(subject.DigestStr()), typ)
	signed, err := f.signer.Sign(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Publish(t.Context(), subject, signed.Bundle, typ); err != nil {
		t.Fatal(err)
	}
	return st
}

type cliResult struct {
	code           int
	stdout, stderr string
}

// runVerifyCmd runs the command newCmd makes with args in env, as main
// would, and returns its exit code and output.
func runVerifyCmd(t *testing.T, newCmd func(func(*cobra.Command) verifyEnv) *cobra.Command, env verifyEnv, args ...string) cliResult {
	t.Helper()
	cmd := newCmd(func(c *cobra.Command) verifyEnv {
		env.stdout, env.stderr = c.OutOrStdout(), c.ErrOrStderr()
		return env
	})
	r := executeSilenced(t.Context(), cmd, args...)
	return cliResult{code: int(exitOf(t, r.err)), stdout: r.stdout, stderr: r.stderr}
}

func TestInspectCommand(t *testing.T) {
	f := newCLIFixture(t)
	attested := f.pushImage(t, "acme/app")
	f.attest(t, attested, hallmark.PredicateSLSAProvenanceV1)
	f.attest(t, attested, hallmark.PredicateSPDX)
	bare := f.pushImage(t, "acme/bare")
	sbomOnly := f.pushImage(t, "acme/sbomonly")
	f.attest(t, sbomOnly, hallmark.PredicateSPDX)
	downHost := registrytest.UnreachableHost()

	tests := []struct {
		name       string
		args       []string
		env        func(verifyEnv) verifyEnv
		code       int
		stdout     []string
		stderr     []string
		emptyStdio bool
	}{
		{
			name:   "verified json",
			args:   []string{"--output", "json", f.host + "/acme/app:v1"},
			stdout: []string{`"verified": true`, `"builderId": "` + devstack.BuilderID + `"`, `"subject": "dev-ci"`, string(goldenGolang), string(goldenStatic), `"digest": "` + attested.DigestStr() + `"`, `"golang": 2`},
		},
		{
			name:   "verified text",
			args:   []string{f.host + "/acme/app:v1"},
			stdout: []string{"\ndigest           " + attested.DigestStr(), "\n  builder        " + devstack.BuilderID, "\n  requester      dev-ci\n", "\n  packages       5: 3 deb, 2 golang\n", "\n    signer       " + devstack.BuilderID},
		},
		{
			name:   "by digest, flags instead of the dev stack",
			args:   []string{"--trusted-root", "FROM_STACK", "--certificate-identity-regexp", `https://hallmark\.dev/builders/.*`, "--certificate-oidc-issuer", testIssuer, attested.String()},
			env:    func(e verifyEnv) verifyEnv { e.stack = stoppedStack; return e },
			stdout: []string{"\n  builder        " + devstack.BuilderID},
		},
		{
			name:   "no attestations",
			args:   []string{f.host + "/acme/bare:v1"},
			code:   1,
			stdout: []string{"Attestations: 0, 0 verified"},
			stderr: []string{"hallmark inspect: no verified https://slsa.dev/provenance/v1 for " + bare.String() + ": the image has no attestations"},
		},
		{
			name:   "only an SBOM",
			args:   []string{f.host + "/acme/sbomonly:v1"},
			code:   1,
			stderr: []string{"https://spdx.dev/Document verified, but is not https://slsa.dev/provenance/v1"},
		},
		{
			name:   "wrong identity",
			args:   []string{"--certificate-identity", "https://evil.example/builder", f.host + "/acme/app:v1"},
			code:   1,
			stdout: []string{"NOT VERIFIED", "\n    reason       certificate identity " + devstack.BuilderID + " (issuer " + testIssuer + ") does not match the policy"},
			stderr: []string{"none verified as one", "does not match the policy"},
		},
		{
			name:       "registry down",
			args:       []string{downHost + "/acme/app:v1"},
			code:       2,
			stderr:     []string{"hallmark inspect: resolve " + downHost + "/acme/app:v1: unavailable"},
			emptyStdio: true,
		},
		{
			name:       "image missing",
			args:       []string{f.host + "/acme/app:nope"},
			code:       2,
			stderr:     []string{"image does not exist"},
			emptyStdio: true,
		},
		{
			name:       "no trusted root",
			args:       []string{f.host + "/acme/app:v1"},
			env:        func(e verifyEnv) verifyEnv { e.stack = stoppedStack; return e },
			code:       2,
			stderr:     []string{"find trusted root: pass --trusted-root FILE"},
			emptyStdio: true,
		},
		{
			name:       "unreadable trusted root",
			args:       []string{"--trusted-root", "/nonexistent/trusted_root.json", f.host + "/acme/app:v1"},
			code:       2,
			stderr:     []string{"read trusted root /nonexistent/trusted_root.json"},
			emptyStdio: true,
		},
		{name: "bad output", args: []string{"--output", "yaml", f.host + "/acme/app:v1"}, code: 2, stderr: []string{`unknown format "yaml"`}, emptyStdio: true},
		{name: "bad flag", args: []string{"--nope", f.host + "/acme/app:v1"}, code: 2, stderr: []string{"unknown flag: --nope"}, emptyStdio: true},
		{name: "no image", args: nil, code: 2, stderr: []string{"want exactly one IMAGE, got 0"}, emptyStdio: true},
		{name: "bad reference", args: []string{"UPPER/Case::x"}, code: 2, stderr: []string{"parse image reference"}, emptyStdio: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := f.env
			if tt.env != nil {
				env = tt.env(env)
			}
			args := tt.args
			for i, a := range args {
				if a == "FROM_STACK" {
					st, _ := f.env.stack()
					args[i] = st.TrustedRoot
				}
			}
			r := runVerifyCmd(t, newInspectCommand, env, args...)
			t.Logf("stderr: %s", r.stderr)
			if r.code != tt.code {
				t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
			if tt.emptyStdio && r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if tt.code == 0 && r.stderr != "" {
				t.Errorf("stderr = %q, want nothing", r.stderr)
			}
		})
	}
}

// TestInspectJSONDecodes checks that the JSON output is one document that
// decodes into the report again.
func TestInspectJSONDecodes(t *testing.T) {
	f := newCLIFixture(t)
	img := f.pushImage(t, "acme/app")
	f.attest(t, img, hallmark.PredicateSLSAProvenanceV1)
	r := runVerifyCmd(t, newInspectCommand, f.env, "-o", "json", img.String())
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep inspectReport
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if rep.Digest != img.DigestStr() || rep.Pinned != img.String() || len(rep.Attestations) != 1 || !rep.Attestations[0].Verified ||
		rep.Attestations[0].LogIndex == nil || rep.Attestations[0].Timestamp == nil || rep.Provenance == nil || len(rep.Provenance.BaseImages) != 2 {
		t.Fatalf("report = %+v", rep)
	}
	if rep.Notes == nil || rep.Notes[0] != "no verified SBOM" {
		t.Errorf("notes = %v", rep.Notes)
	}
}
