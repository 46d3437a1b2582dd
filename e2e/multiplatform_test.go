//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	hallmark "github.com/hallmark-dev/hallmark"
)

// multiContext writes a build context whose Dockerfile copies a different
// file per target architecture and has no RUN step: BuildKit here runs
// amd64 only, without emulation.
func multiContext(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for n, body := range map[string]string{
		"Dockerfile": "FROM scratch\nARG TARGETARCH\nCOPY ${TARGETARCH}.txt /\nUSER 65532:65532\n",
		"amd64.txt":  "amd64\n",
		"arm64.txt":  "arm64\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// attestStep returns how long the build's attest step took, from its
// plain progress ("#8 [hallmark] attest: …" … "#8 DONE 1.2s").
func attestStep(t *testing.T, progress string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^#(\d+) \[hallmark\] attest`).FindStringSubmatch(progress)
	if m == nil {
		t.Fatalf("no attest step in the progress:\n%s", progress)
	}
	d := regexp.MustCompile(`(?m)^#` + m[1] + ` DONE (\S+)`).FindStringSubmatch(progress)
	if d == nil {
		t.Fatalf("the attest step #%s never finished:\n%s", m[1], progress)
	}
	return d[1]
}

// platformManifests returns the platform manifests of the index pinned,
// by platform.
func platformManifests(t *testing.T, pinned string) map[string]string {
	t.Helper()
	desc, err := remoteImage(t, pinned)
	if err != nil {
		t.Fatal(err)
	}
	if !desc.MediaType.IsIndex() {
		t.Fatalf("%s is a %s, want an image index", pinned, desc.MediaType)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(desc.Manifest, &idx); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range idx.Manifests {
		if m.Platform != nil && m.MediaType.IsImage() {
			out[m.Platform.String()] = pinnedRef(t, pinned).Context().Digest(m.Digest.String()).String()
		}
	}
	return out
}

// TestMultiPlatformAttested builds for linux/amd64 and linux/arm64 on the
// real stack: each platform manifest has its own SBOM and provenance about
// its own digest, the index has provenance; `hallmark verify --platform
// linux/arm64` passes; an index assembled with one unattested platform is
// denied by admission, naming that platform; `hallmark sbom --platform
// linux/arm64` prints the arm64 manifest's SBOM.
func TestMultiPlatformAttested(t *testing.T) {
	st := env.stack.State
	dir := multiContext(t)
	_, single, err := runCLI(t, "build", "--progress", "plain", "--platform", "linux/amd64", "-t", st.Registry+"/e2e/multi:single", dir)
	if err != nil {
		t.Fatalf("hallmark build (one platform): %v\n%s", err, single)
	}
	stdout, multi, err := runCLI(t, "build", "--progress", "plain", "--platform", "linux/amd64,linux/arm64", "-t", st.Registry+"/e2e/multi:v1", dir)
	if err != nil {
		t.Fatalf("hallmark build: %v\n%s", err, multi)
	}
	t.Logf("attest step: 1 platform %s, 2 platforms %s", attestStep(t, single), attestStep(t, multi))
	pinned := strings.TrimSpace(stdout)
	platforms := platformManifests(t, pinned)
	if len(platforms) != 2 || platforms["linux/amd64"] == "" || platforms["linux/arm64"] == "" {
		t.Fatalf("index platforms = %v", platforms)
	}

	for platform, ref := range platforms {
		// verifiedStatements checks that each statement's subject is ref's digest.
		prov, sbom := provenanceAndSBOM(t, ref)
		var doc struct {
			DocumentNamespace string `json:"documentNamespace"`
		}
		if err := json.Unmarshal(sbom.Predicate, &doc); err != nil {
			t.Fatal(err)
		}
		hex := ref[strings.Index(ref, "sha256:")+len("sha256:"):]
		if !strings.Contains(doc.DocumentNamespace, hex) {
			t.Errorf("%s SBOM namespace %s does not name its manifest %s", platform, doc.DocumentNamespace, hex)
		}
		// The amd64 manifest is the single-platform build's too (the same
		// content): it has that build's provenance as well, maybe signed in
		// the same second, so look for the multi-platform build's among all.
		recorded := strings.Contains(string(prov.Predicate), "linux/arm64")
		for _, st := range verifiedStatementList(t, ref) {
			recorded = recorded || (st.PredicateType == hallmark.PredicateSLSAProvenanceV1 && strings.Contains(string(st.Predicate), "linux/arm64"))
		}
		if !recorded {
			t.Errorf("%s: no provenance records the requested platforms", platform)
		}
	}
	index := verifiedStatements(t, pinned)
	if index[hallmark.PredicateSLSAProvenanceV1] == nil || index[hallmark.PredicateSPDX] != nil {
		t.Errorf("index statements = %v, want provenance only", keys(index))
	}

	out, errOut, err := runCLI(t, "verify", "--platform", "linux/arm64", pinned)
	if err != nil || !strings.Contains(out, "platform ✓ linux/arm64 "+platforms["linux/arm64"]) || strings.Contains(out, "linux/amd64") {
		t.Fatalf("hallmark verify --platform linux/arm64: %v\n%s%s", err, out, errOut)
	}
	if out, errOut, err := runCLI(t, "verify", pinned); err != nil || strings.Count(out, "platform ✓") != 2 {
		t.Fatalf("hallmark verify (every platform): %v\n%s%s", err, out, errOut)
	}
	checkPlatformSBOM(t, st.Registry+"/e2e/multi:v1", platforms)

	// An index of the attested amd64 manifest and an unattested arm64 image.
	mixed := mixedIndex(t, platforms["linux/amd64"], st.Registry+"/e2e/multi:mixed")
	if out, _, err := runCLI(t, "verify", "--platform", "linux/arm64", mixed); err == nil || !strings.Contains(out, "platform ✗ linux/arm64") {
		t.Errorf("hallmark verify --platform linux/arm64 of the mixed index: %v\n%s", err, out)
	}
	allowed, message := admissionReview(t, st.Registry+"/e2e/multi:mixed")
	if allowed || !strings.Contains(message, "platform linux/arm64 (sha256:") ||
		!strings.Contains(message, `rule "signers": the image has no attestations`) || strings.Contains(message, "platform linux/amd64") {
		t.Errorf("admission of the mixed index: allowed %v, message %q; want a denial naming linux/arm64", allowed, message)
	}
	if allowed, message := admissionReview(t, pinned); !allowed {
		t.Errorf("admission of the built index denied: %s", message)
	}
}

// checkPlatformSBOM checks that `hallmark sbom --platform linux/arm64` of
// the index tag prints the SBOM of the arm64 manifest (its namespace names
// that manifest, not amd64's) and names the manifest on stderr, and that
// without --platform it fails listing both platforms.
func checkPlatformSBOM(t *testing.T, tag string, platforms map[string]string) {
	t.Helper()
	out, errOut, err := runCLI(t, "sbom", "--platform", "linux/arm64", tag)
	if err != nil || !strings.Contains(errOut, "the SBOM of the linux/arm64 image "+platforms["linux/arm64"]) {
		t.Fatalf("hallmark sbom --platform linux/arm64: %v\n%s", err, errOut)
	}
	var doc struct {
		DocumentNamespace string `json:"documentNamespace"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("hallmark sbom --platform linux/arm64 printed no SPDX document: %v\n%s", err, out)
	}
	hexOf := func(ref string) string { return ref[strings.Index(ref, "sha256:")+len("sha256:"):] }
	if !strings.Contains(doc.DocumentNamespace, hexOf(platforms["linux/arm64"])) || strings.Contains(out, hexOf(platforms["linux/amd64"])) {
		t.Errorf("hallmark sbom --platform linux/arm64 printed the SBOM %s, want the arm64 manifest's %s", doc.DocumentNamespace, platforms["linux/arm64"])
	}
	_, errOut, err = runCLI(t, "sbom", tag)
	if err == nil || !strings.Contains(errOut, "is a multi-platform image") || !strings.Contains(errOut, "linux/amd64") || !strings.Contains(errOut, "linux/arm64") {
		t.Errorf("hallmark sbom of the index without --platform: %v\n%s", err, errOut)
	}
}

// mixedIndex pushes an index of the platform manifest amd64 (by digest, in
// the same repository) and a new, unattested linux/arm64 image as tag, and
// returns it pinned.
func mixedIndex(t *testing.T, amd64, tag string) string {
	t.Helper()
	a, err := remote.Image(pinnedRef(t, amd64), remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	arm, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := arm.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Config.User = "linux", "arm64", "65532"
	if arm, err = mutate.ConfigFile(arm, cfg); err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: a, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	ref, err := name.NewTag(tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.String()).String()
}

// admissionReview posts a Pod running image, compliant with every hygiene
// rule, to the gateway's validating webhook and returns its answer.
func admissionReview(t *testing.T, image string) (bool, string) {
	t.Helper()
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "multi", "namespace": "verified"},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": image, "securityContext": map[string]any{
			"runAsNonRoot": true, "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
			"capabilities": map[string]any{"drop": []any{"ALL"}}, "seccompProfile": map[string]any{"type": "RuntimeDefault"},
		}}}}}
	review, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": map[string]any{
		"uid": "multi", "kind": map[string]any{"group": "", "version": "v1", "kind": "Pod"},
		"resource": map[string]any{"group": "", "version": "v1", "resource": "pods"}, "operation": "CREATE",
		"namespace": "verified", "object": pod,
	}})
	if err != nil {
		t.Fatal(err)
	}
	out := postReview(t, webhookClient(t), env.stack.Admission, review)
	return out.Allowed, out.Status.Message
}
