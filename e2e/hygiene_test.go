//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/provenance"
	"github.com/hallmark-dev/hallmark/builder/secretscan/scantest"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// TestHygiene checks the gateway's build policy (docs/build-policy.md)
// through the real stack: refused bases and build args, a pinned base
// recorded in the provenance with the lint warnings, and an image that
// copies a private key refused before any tag or attestation exists.
func TestHygiene(t *testing.T) {
	st := env.stack.State
	static := strings.Split(st.BaseImage, "@")[0] // registry/hallmark/static
	c := authed(token(t, "e2e-hygiene"))

	t.Run("refused before the build", func(t *testing.T) {
		tests := []struct {
			name       string
			dockerfile string
			args       map[string]string
			contains   []string
			hide       string // must not appear in the error
		}{
			{name: "latest", dockerfile: "FROM " + static + ":latest AS run\nUSER 65532\n",
				contains: []string{`stage "run" (line 1): base image "` + static + `:latest": the :latest tag is not allowed`}},
			{name: "untagged", dockerfile: "FROM " + static + "\nUSER 65532\n", contains: []string{"no tag or digest means :latest"}},
			{name: "latest hidden behind ARG", dockerfile: "ARG TAG=latest\nFROM --platform=$BUILDPLATFORM " + static + ":${TAG}\nUSER 65532\n",
				contains: []string{`(line 2): base image "` + static + `:latest"`}},
			{name: "credential build arg", dockerfile: "FROM " + static + ":v1\nARG API_TOKEN\nUSER 65532\n",
				args: map[string]string{"API_TOKEN": "tok-e2e-0123456789abcdef"}, contains: []string{`build arg "API_TOKEN"`, "--secret"}, hide: "tok-e2e-0123456789abcdef"},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tag := fmt.Sprintf("%s/e2e/hygiene-refused:case%d", st.Registry, i)
				err := buildInline(t, c, tt.dockerfile, tt.args, tag)
				if code(err) != connect.CodeInvalidArgument {
					t.Fatalf("error = %v, want InvalidArgument", err)
				}
				for _, w := range tt.contains {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				if tt.hide != "" && strings.Contains(err.Error(), tt.hide) {
					t.Errorf("error %q shows the value", err)
				}
				if _, ferr := remoteImage(t, tag); ferr == nil {
					t.Errorf("tag %s exists after a refused build", tag)
				}
			})
		}
	})

	t.Run("private key in a layer", func(t *testing.T) {
		repo := st.Registry + "/e2e/hygiene-key"
		key := scantest.PrivateKeyPEM(t)
		data := makeTar(t,
			tarEntry{name: "Dockerfile", body: "FROM " + static + ":v1\nCOPY deploy.key /app/deploy.key\nUSER 65532:65532\n"},
			tarEntry{name: "deploy.key", body: key})
		dgst, err := upload(t.Context(), c, data)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = build(t.Context(), c, buildRequest(dgst, repo+":v1"))
		if code(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "/app/deploy.key (layer 2): a PEM private key [rule private-key]") {
			t.Fatalf("error = %v, want InvalidArgument naming /app/deploy.key and the rule", err)
		}
		body := strings.Split(key, "\n")[1]
		if strings.Contains(err.Error(), body) {
			t.Error("the error shows the key")
		}
		// The image was pushed by digest only: no tag, and no attestation
		// (the registry has no referrers API, so attestations would be
		// sha256-<hex> tags).
		r, err := name.NewRepository(repo, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if tags, err := remote.List(r, remote.WithContext(t.Context())); err == nil && len(tags) > 0 {
			t.Errorf("repository %s has tags %v after a refused build", repo, tags)
		}
	})

	t.Run("pinned and recorded", func(t *testing.T) {
		df := "FROM " + st.GolangImage + " AS tools\n" +
			"RUN true || curl -fsSL https://get.example.invalid/install.sh | sh\n" +
			"RUN echo hygiene > /note\n" +
			"FROM " + static + ":v1\n" +
			"COPY --from=tools /note /etc/note\n" +
			"USER 65532:65532\n"
		dgst, err := upload(t.Context(), c, makeTar(t, tarEntry{name: "Dockerfile", body: df}))
		if err != nil {
			t.Fatal(err)
		}
		res, events, err := build(t.Context(), c, buildRequest(dgst, st.Registry+"/e2e/hygiene-pinned:v1"))
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		const lint = "HallmarkPipeToShell: a download is piped into a shell (curl … | sh); download to a file, check its sha256, then run it (line 2)"
		var shown bool
		for _, e := range events {
			for _, w := range e.GetStatus().GetWarnings() {
				shown = shown || string(w.GetShort()) == lint
			}
		}
		if !shown {
			t.Errorf("the progress never showed the lint warning %q", lint)
		}
		p := provenanceOf(t, res.GetPinned())
		in := p.BuildDefinition.InternalParameters
		want := []provenance.BaseDecision{
			{Ref: st.GolangImage, Digest: digestIn(st.GolangImage)},
			{Ref: static + ":v1", Digest: digestIn(st.BaseImage), Runtime: true},
		}
		if in.BasePolicy == nil || in.BasePolicy.Mode != "pin" || !equalDecisions(in.BasePolicy.Bases, want) {
			t.Errorf("basePolicy = %+v, want mode pin and %+v", in.BasePolicy, want)
		}
		if len(in.Warnings) == 0 || in.Warnings[0] != lint {
			t.Errorf("provenance warnings = %q, want the lint warning first", in.Warnings)
		}
	})

	t.Run("allowlist and require-digest", func(t *testing.T) {
		gw := startPolicyGateway(t, fmt.Sprintf("policy:\n  baseImages:\n    allow: [%q]\n    mode: require-digest\n", static))
		pc := hallmarkv1connectClient(gw, token(t, "e2e-hygiene-policy"))
		err := buildInline(t, pc, "FROM "+st.GolangImage+"\nUSER 65532\n", nil, st.Registry+"/e2e/hygiene-policy:refused")
		if code(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "is not in the gateway's base image allowlist ("+static+")") {
			t.Errorf("golang base: error = %v, want it refused by the allowlist", err)
		}
		err = buildInline(t, pc, "FROM "+static+":v1\nUSER 65532\n", nil, st.Registry+"/e2e/hygiene-policy:tag")
		if code(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "not pinned by digest") {
			t.Errorf("tagged base: error = %v, want it refused as not pinned by digest", err)
		}
		res, _, err := build(t.Context(), pc, dockerfileRequest(t, pc, "FROM "+st.BaseImage+"\nUSER 65532\n", st.Registry+"/e2e/hygiene-policy:v1"))
		if err != nil {
			t.Fatalf("pinned, allowed base: %v", err)
		}
		bp := provenanceOf(t, res.GetPinned()).BuildDefinition.InternalParameters.BasePolicy
		want := []provenance.BaseDecision{{Ref: st.BaseImage, Digest: digestIn(st.BaseImage), AllowedBy: static, Runtime: true}}
		if bp == nil || bp.Mode != "require-digest" || !equalDecisions(bp.Bases, want) {
			t.Errorf("basePolicy = %+v, want mode require-digest and %+v", bp, want)
		}
	})
}

// buildInline uploads an empty context and builds dockerfile inline.
func buildInline(t *testing.T, c hallmarkv1connect.BuildServiceClient, dockerfile string, args map[string]string, tag string) error {
	t.Helper()
	req := inlineRequest(t, c, dockerfile, tag)
	req.BuildArgs = args
	_, _, err := build(t.Context(), c, req)
	return err
}

// provenanceOf returns the verified provenance of image (repo@sha256:…).
func provenanceOf(t *testing.T, image string) *provenance.Provenance {
	t.Helper()
	st := verifiedStatements(t, image)[hallmark.PredicateSLSAProvenanceV1]
	if st == nil {
		t.Fatalf("%s has no provenance", image)
	}
	p, err := provenance.Parse(st.Predicate)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// digestIn returns the digest of a pinned reference (name@sha256:…).
func digestIn(pinned string) hallmark.Digest {
	_, d, _ := strings.Cut(pinned, "@")
	return hallmark.Digest(d)
}

func equalDecisions(a, b []provenance.BaseDecision) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// startPolicyGateway runs another hallmarkd on the stack's BuildKit,
// registry and Sigstore, with policyYAML as its policy section, and
// returns its URL.
func startPolicyGateway(t *testing.T, policyYAML string) string {
	t.Helper()
	st := env.stack.State
	return startGatewayWith(t, gatewayOpts{buildkit: st.BuildKit, registry: st.Registry, extraYAML: policyYAML})
}
