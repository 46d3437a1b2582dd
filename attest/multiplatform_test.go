package attest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
	"github.com/hallmark-dev/hallmark/verify"
)

// debianFiles is a minimal Debian filesystem whose dpkg database lists one
// package, pkg.
func debianFiles(pkg, arch string) map[string]string {
	return map[string]string{
		"/etc/os-release":      "ID=debian\nVERSION_ID=\"12\"\n",
		"/var/lib/dpkg/status": fmt.Sprintf("Package: %s\nStatus: install ok installed\nArchitecture: %s\nVersion: 1.0\n\n", pkg, arch),
	}
}

// sbomPackages returns the names of the packages of the verified SBOM of
// ref, which must have exactly one verified SBOM and one verified
// provenance.
func sbomPackages(t *testing.T, v *verify.Verifier, ref string) []string {
	t.Helper()
	got, err := v.Image(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	sboms, provs := got.Verified(hallmark.PredicateSPDX), got.Verified(hallmark.PredicateSLSAProvenanceV1)
	if len(sboms) != 1 || len(provs) != 1 {
		t.Fatalf("%s: %d verified SBOMs and %d provenances, want 1 and 1 (all: %+v)", ref, len(sboms), len(provs), got.Attestations)
	}
	var doc struct {
		Packages []struct {
			Name string `json:"name"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(sboms[0].Statement.Predicate, &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range doc.Packages {
		names = append(names, p.Name)
	}
	return names
}

// TestAttestMultiPlatform: each platform manifest of an index gets its own
// SBOM (of its own layers) and provenance as its referrers, the index gets
// provenance only.
func TestAttestMultiPlatform(t *testing.T) {
	a, _, req, res, v := fixture(t, true)
	reg := registrytest.New(t)
	a.opts.registry = registrytest.Client(t, registry.WithInsecureHosts(reg.Host))
	idx, platforms := reg.PushIndex(t, "team/multi", "",
		registrytest.PlatformImage(t, "linux/amd64", debianFiles("amd-only", "amd64")),
		registrytest.PlatformImage(t, "linux/arm64", debianFiles("arm-only", "arm64")))
	res.Repository, res.Digest, res.Pinned = idx.Context().String(), hallmark.Digest(idx.DigestStr()), idx.String()
	req.Platforms = []string{"linux/amd64", "linux/arm64"}
	var lines []string
	atts, err := a.Attest(t.Context(), req, res, func(f string, args ...any) { lines = append(lines, fmt.Sprintf(f, args...)) })
	if err != nil {
		t.Fatalf("Attest: %v", err)
	}
	type key struct{ subject, platform, predicateType string }
	var got []key
	for _, att := range atts {
		got = append(got, key{att.Subject.String(), att.Platform, att.PredicateType})
	}
	want := []key{
		{platforms[0].Ref.DigestStr(), "linux/amd64", hallmark.PredicateSPDX},
		{platforms[0].Ref.DigestStr(), "linux/amd64", hallmark.PredicateSLSAProvenanceV1},
		{platforms[1].Ref.DigestStr(), "linux/arm64", hallmark.PredicateSPDX},
		{platforms[1].Ref.DigestStr(), "linux/arm64", hallmark.PredicateSLSAProvenanceV1},
		{idx.DigestStr(), "", hallmark.PredicateSLSAProvenanceV1},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("attestations\n got %v\nwant %v", got, want)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "signed https://spdx.dev/Document for linux/arm64") {
		t.Errorf("progress does not name the platforms:\n%s", strings.Join(lines, "\n"))
	}

	for i, own := range []string{"amd-only", "arm-only"} {
		other := []string{"arm-only", "amd-only"}[i]
		pkgs := sbomPackages(t, v, platforms[i].Ref.String())
		if !slices.Contains(pkgs, own) || slices.Contains(pkgs, other) {
			t.Errorf("%s SBOM lists %v, want %s and not %s", platforms[i].Platform, pkgs, own, other)
		}
	}
	ir, err := v.Image(t.Context(), idx.String())
	if err != nil {
		t.Fatal(err)
	}
	if n, m := len(ir.Verified(hallmark.PredicateSLSAProvenanceV1)), len(ir.Verified(hallmark.PredicateSPDX)); n != 1 || m != 0 {
		t.Errorf("index has %d verified provenances and %d SBOMs, want 1 and 0", n, m)
	}
}
