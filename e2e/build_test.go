//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// TestBuildExample builds examples/hello with the CLI, as a CI job would,
// and checks the registry holds exactly what the CLI reported.
func TestBuildExample(t *testing.T) {
	st := env.stack.State
	tag := st.Registry + "/examples/hello:e2e"
	meta := filepath.Join(t.TempDir(), "metadata.json")
	stdout, stderr, err := runCLI(t, helloBuild("--progress", "plain", "--metadata-file", meta,
		"-t", tag, "-t", st.Registry+"/examples/hello:e2e-2")...)
	if err != nil {
		t.Fatalf("hallmark build: %v\nstderr:\n%s", err, stderr)
	}
	pinned := strings.TrimSpace(stdout)
	repo, digest, ok := strings.Cut(pinned, "@")
	if !ok || repo != st.Registry+"/examples/hello" || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("stdout = %q, want %s/examples/hello@sha256:…", stdout, st.Registry)
	}
	if !strings.Contains(stderr, "go build") {
		t.Errorf("progress on stderr does not show the RUN step:\n%s", stderr)
	}

	for _, ref := range []string{tag, st.Registry + "/examples/hello:e2e-2", pinned} {
		desc, err := remoteImage(t, ref)
		if err != nil {
			t.Fatalf("fetch %s: %v", ref, err)
		}
		if desc.Digest.String() != digest {
			t.Errorf("%s resolves to %s, the build reported %s", ref, desc.Digest, digest)
		}
	}
	cfg := imageConfig(t, pinned)
	if cfg.Config.User != "65532:65532" {
		t.Errorf("image user = %q, want 65532:65532", cfg.Config.User)
	}
	if got := cfg.Config.Entrypoint; len(got) != 1 || got[0] != "/usr/local/bin/hello" {
		t.Errorf("entrypoint = %q", got)
	}

	var m map[string]any
	data, err := os.ReadFile(meta)
	if err != nil {
		t.Fatalf("read metadata file: %v", err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("metadata file is not JSON: %v\n%s", err, data)
	}
	if m["containerimage.digest"] != digest {
		t.Errorf("metadata containerimage.digest = %v, want %s", m["containerimage.digest"], digest)
	}
	if name, _ := m["image.name"].(string); !strings.Contains(name, tag) {
		t.Errorf("metadata image.name = %v, want it to list %s", m["image.name"], tag)
	}
	// The result lists both attestations, each with its log index.
	atts, _ := m["hallmark.attestations"].([]any)
	if len(atts) != 2 {
		t.Fatalf("metadata hallmark.attestations = %v, want SBOM and provenance", m["hallmark.attestations"])
	}
	for _, a := range atts {
		if a, _ := a.(map[string]any); a["logIndex"] == nil || a["signerIdentity"] != "https://hallmark.dev/builders/dev" {
			t.Errorf("attestation %v lacks a log index or the gateway identity", a)
		}
	}
}

// TestBuildRunStep builds a Dockerfile with RUN steps through the API and
// checks the pinned bases and the pushed image.
func TestBuildRunStep(t *testing.T) {
	st := env.stack.State
	c := authed(token(t, "e2e-run"))
	dockerfile := `ARG GOLANG_IMAGE
FROM ${GOLANG_IMAGE} AS tools
RUN echo "built by $(id -u)" > /greeting && test -s /greeting
FROM ` + strings.Split(st.BaseImage, "@")[0] + `:v1
COPY --from=tools /greeting /etc/greeting
USER nonroot
`
	ctxDigest, err := upload(t.Context(), c, makeTar(t, tarEntry{name: "Dockerfile", body: dockerfile}))
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	tag := st.Registry + "/e2e/run:v1"
	res, events, err := build(t.Context(), c, &hallmarkv1.BuildRequest{
		Source:    &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: ctxDigest},
		Tags:      []string{tag},
		BuildArgs: map[string]string{"GOLANG_IMAGE": st.GolangImage},
	})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if len(events) < 3 || events[0].GetAccepted() == nil {
		t.Fatalf("want accepted, progress and result events, got %d events, first %v", len(events), events[0])
	}
	var sawRun bool
	for _, e := range events {
		for _, v := range e.GetStatus().GetVertexes() {
			sawRun = sawRun || strings.Contains(v.GetName(), "RUN echo")
		}
	}
	if !sawRun {
		t.Error("progress never named the RUN step")
	}
	// Both bases are pinned: the golang image by its digest, the static one
	// (written with a tag) resolved to the digest the stack pushed.
	want := map[string]bool{st.GolangImage: true, st.BaseImage: true}
	for _, b := range res.GetBases() {
		if !want[b.GetPinned()] {
			t.Errorf("unexpected base %s -> %s", b.GetRef(), b.GetPinned())
		}
		delete(want, b.GetPinned())
	}
	if len(want) != 0 {
		t.Errorf("bases %v missing from the result %v", want, res.GetBases())
	}
	desc, err := remoteImage(t, tag)
	if err != nil {
		t.Fatalf("fetch %s: %v", tag, err)
	}
	if desc.Digest.String() != res.GetDigest() {
		t.Errorf("%s resolves to %s, the build reported %s", tag, desc.Digest, res.GetDigest())
	}
	if u := imageConfig(t, res.GetPinned()).Config.User; u != "nonroot" {
		t.Errorf("user = %q, want nonroot", u)
	}
}
