//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/verify"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/provenance"
	"github.com/hallmark-dev/hallmark/internal/devstack"
	"github.com/hallmark-dev/hallmark/internal/intoto"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	hverify "github.com/hallmark-dev/hallmark/verify"
)

// verifiedStatements lists the Sigstore bundles attached to image (a
// repo@sha256 reference), verifies each with sigstore-go against the
// stack's trusted root and the gateway's identity, and returns the
// statements by predicate type (one of each: the last listed).
func verifiedStatements(t *testing.T, image string) map[string]*intoto.ParsedStatement {
	t.Helper()
	out := map[string]*intoto.ParsedStatement{}
	for _, st := range verifiedStatementList(t, image) {
		out[st.PredicateType] = st
	}
	return out
}

// verifiedStatementList is verifiedStatements' every statement, in the
// order the referrers are listed.
func verifiedStatementList(t *testing.T, image string) []*intoto.ParsedStatement {
	t.Helper()
	ref, refs := bundleReferrers(t, image)
	v, id := gatewayVerifier(t)
	digest, err := hallmark.ParseDigest(ref.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	var out []*intoto.ParsedStatement
	for _, r := range refs {
		data, err := hverify.Fetch(t.Context(), r)
		if err != nil {
			t.Fatalf("fetch bundle %s: %v", r.Digest, err)
		}
		var b bundle.Bundle
		if err := b.UnmarshalJSON(data); err != nil {
			t.Fatalf("parse bundle %s: %v", r.Digest, err)
		}
		if _, err := v.Verify(&b, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithCertificateIdentity(id))); err != nil {
			t.Fatalf("verify bundle %s: %v", r.Digest, err)
		}
		env, err := b.Envelope()
		if err != nil {
			t.Fatal(err)
		}
		payload, err := base64.StdEncoding.DecodeString(env.RawEnvelope().Payload)
		if err != nil {
			t.Fatal(err)
		}
		st, err := intoto.Parse(payload, 16<<20)
		if err != nil {
			t.Fatalf("parse statement: %v", err)
		}
		if !st.HasSubjectDigest(digest) {
			t.Errorf("statement %s has subjects %v, not the image %s", st.PredicateType, st.Subjects, digest)
		}
		if r.PredicateType != st.PredicateType {
			t.Errorf("referrer annotation says %s, the statement %s", r.PredicateType, st.PredicateType)
		}
		out = append(out, st)
	}
	return out
}

// provenanceAndSBOM returns the verified provenance and SBOM statements of
// image; an image without both ends the test.
func provenanceAndSBOM(t *testing.T, image string) (prov, sbom *intoto.ParsedStatement) {
	t.Helper()
	statements := verifiedStatements(t, image)
	prov, sbom = statements[hallmark.PredicateSLSAProvenanceV1], statements[hallmark.PredicateSPDX]
	if prov == nil || sbom == nil {
		t.Fatalf("want SBOM and provenance, got %v", keys(statements))
	}
	return prov, sbom
}

// TestAttestations checks that a built image carries a verified SBOM and
// verified provenance that say what the build did.
func TestAttestations(t *testing.T) {
	st := env.stack.State
	tag := st.Registry + "/e2e/attested:v1"
	stdout, stderr, err := runCLI(t, helloBuild("--progress", "plain", "-t", tag)...)
	if err != nil {
		t.Fatalf("hallmark build: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "[hallmark] attest") {
		t.Errorf("progress does not show the attest step:\n%s", stderr)
	}
	pinned := strings.TrimSpace(stdout)
	prov, sbom := provenanceAndSBOM(t, pinned)

	p, err := provenance.Parse(prov.Predicate)
	if err != nil {
		t.Fatalf("parse provenance: %v", err)
	}
	if p.RunDetails.Builder.ID != devstack.BuilderID {
		t.Errorf("builder id = %q", p.RunDetails.Builder.ID)
	}
	if p.BuildDefinition.ExternalParameters.Requester.Subject != "dev-ci" {
		t.Errorf("requester = %+v, want the CLI's dev token subject", p.BuildDefinition.ExternalParameters.Requester)
	}
	deps, _ := json.Marshal(p.BuildDefinition.ResolvedDependencies)
	for _, base := range []string{st.BaseImage, st.GolangImage} {
		hex := base[strings.Index(base, "sha256:")+len("sha256:"):]
		if !strings.Contains(string(deps), hex) {
			t.Errorf("resolvedDependencies lack base %s: %s", base, deps)
		}
	}

	checkHelloSBOM(t, sbom.Predicate)

	t.Run("cosign verifies", func(t *testing.T) {
		cosign, err := devstack.Tool(t.Context(), env.repo, "cosign", "cosign", os.Stderr)
		if err != nil {
			t.Fatal(err)
		}
		for _, typ := range []string{"slsaprovenance1", "spdxjson"} {
			cmd := exec.CommandContext(t.Context(), cosign, "verify-attestation", "--type", typ,
				"--certificate-identity", devstack.BuilderID, "--certificate-oidc-issuer", st.Issuer,
				"--trusted-root", st.TrustedRoot, "--allow-http-registry",
				// The dev Fulcio has no CT log, so its certificates carry no SCTs.
				"--insecure-ignore-sct", tag)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("cosign verify-attestation --type %s: %v\n%s", typ, err, out)
			}
		}
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestSigningFailureMovesNoTag runs a gateway whose Fulcio goes away: once
// unreachable from the start, once killed while the build runs (the gateway
// reaches the real Fulcio through a proxy that the test shuts mid-build).
// The image is built and pushed by digest, attestation fails, the build
// fails naming Fulcio, and the tag never appears.
func TestSigningFailureMovesNoTag(t *testing.T) {
	st := env.stack.State
	data, err := os.ReadFile(st.SigningConfig)
	if err != nil {
		t.Fatal(err)
	}
	withFulcio := func(t *testing.T, url string) string {
		p := filepath.Join(t.TempDir(), "signing_config.json")
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(data), st.Fulcio, url)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(t *testing.T, signingConfig, dockerfile, tag string, during func(*hallmarkv1.BuildResponse)) {
		gw := startGatewayWith(t, gatewayOpts{buildkit: st.BuildKit, registry: st.Registry, signingConfig: signingConfig})
		c := hallmarkv1connectClient(gw, token(t, "e2e-nosign"))
		stream, err := c.Build(t.Context(), connect.NewRequest(dockerfileRequest(t, c, dockerfile, tag)))
		if err != nil {
			t.Fatal(err)
		}
		for stream.Receive() {
			during(stream.Msg())
		}
		err = stream.Err()
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "fulcio") {
			t.Fatalf("error = %v, want a failure naming fulcio", err)
		}
		if _, err := remoteImage(t, tag); err == nil {
			t.Errorf("tag %s exists although signing failed", tag)
		}
	}
	t.Run("unreachable", func(t *testing.T) {
		run(t, withFulcio(t, "http://127.0.0.1:9"), "FROM "+st.BaseImage+"\nUSER 65532\n", st.Registry+"/e2e/unsigned:v1", func(*hallmarkv1.BuildResponse) {})
	})
	t.Run("killed mid-build", func(t *testing.T) {
		proxy := newTCPProxy(t, strings.TrimPrefix(st.Fulcio, "http://"))
		df := "FROM " + st.GolangImage + "\nRUN echo start-" + time.Now().Format(time.RFC3339Nano) + " && sleep 2\nUSER 65532\n"
		run(t, withFulcio(t, "http://"+proxy.addr()), df, st.Registry+"/e2e/unsigned:v2", func(m *hallmarkv1.BuildResponse) {
			if strings.Contains(logText(m), "start-") {
				proxy.kill()
			}
		})
		if !proxy.killed() {
			t.Fatal("the RUN step never started, so Fulcio was not killed mid-build")
		}
	})
}

// TestReferrersAPIRegistry builds into a registry with the OCI referrers API
// (go-containerregistry's), where attestations are found without the tag
// fallback that Debian's registry needs.
func TestReferrersAPIRegistry(t *testing.T) {
	st := env.stack.State
	reg := referrersRegistry(t)
	gw := startGatewayWith(t, gatewayOpts{buildkit: st.BuildKit, registry: reg})
	c := hallmarkv1connectClient(gw, token(t, "e2e-referrers"))
	res, _, err := build(context.Background(), c, dockerfileRequest(t, c, "FROM "+st.BaseImage+"\nUSER 65532\n", reg+"/e2e/api:v1"))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	statements := verifiedStatements(t, res.GetPinned())
	if len(statements) != 2 {
		t.Fatalf("found %v through the referrers API, want SBOM and provenance", keys(statements))
	}
	fallback := reg + "/e2e/api:sha256-" + strings.TrimPrefix(res.GetDigest(), "sha256:")
	if _, err := remoteImage(t, fallback); err == nil {
		t.Errorf("fallback tag %s exists on a registry with the referrers API", fallback)
	}
}
