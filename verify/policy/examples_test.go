package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	examplesDir = "../../examples/policies"
	devIssuer   = "http://127.0.0.1:7435"
	devBuilder  = "https://hallmark.dev/builders/dev"
)

// rewrite returns a deep copy of m with every old replaced by new in its
// JSON text.
func rewrite(t *testing.T, m map[string]any, oldNew ...string) map[string]any {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(oldNew...).Replace(string(data))
	var out map[string]any
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// withPackage returns a copy of the SPDX document sbom with one more
// package.
func withPackage(t *testing.T, sbom map[string]any, pkg map[string]any) map[string]any {
	t.Helper()
	out := rewrite(t, sbom)
	out["packages"] = append(out["packages"].([]any), pkg)
	return out
}

func loadExample(t *testing.T, name string) *Policy {
	t.Helper()
	p, err := LoadFile(filepath.Join(examplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func devAttestations(types ...string) []Attestation {
	out := make([]Attestation, len(types))
	for i, pt := range types {
		out[i] = Attestation{PredicateType: pt, SignerIdentity: devBuilder, SignerIssuer: devIssuer}
	}
	return out
}

// exampleCase is one input to an example policy and the rules it must fail
// (all others must pass).
type exampleCase struct {
	name   string
	in     Input
	failed []string
}

func runExampleCases(t *testing.T, p *Policy, cases []exampleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			results := p.Evaluate(t.Context(), tc.in)
			if len(results) == 0 {
				t.Fatal("no results")
			}
			var failed []string
			for _, r := range results {
				if !r.Passed {
					failed = append(failed, r.Name)
					t.Logf("%s: %s", r.Name, r.Message)
				}
			}
			if strings.Join(failed, ",") != strings.Join(tc.failed, ",") {
				t.Errorf("failed rules %q, want %q", failed, tc.failed)
			}
		})
	}
}

func TestExamplesLoad(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil || len(paths) < 4 {
		t.Fatalf("example policies: %q, %v", paths, err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), "# "+strings.TrimSuffix(filepath.Base(path), ".yaml")+": ") {
				t.Error("the file does not start with a comment naming and explaining the policy")
			}
			p := loadExample(t, filepath.Base(path))
			if p.Name()+".yaml" != filepath.Base(path) {
				t.Errorf("metadata.name %q does not match the file name", p.Name())
			}
			if !p.MatchSigner(devIssuer, devBuilder) || !p.MatchSigner("http://127.0.0.1:40123", devBuilder) {
				t.Error("the dev gateway's identity does not match")
			}
			if p.MatchSigner("http://127.0.0.1:7435.evil.example", devBuilder) ||
				p.MatchSigner(devIssuer, "https://hallmark.example.com/builders/prod") {
				t.Error("another identity matches")
			}
			if p.HasPodRules() {
				t.Error("an example has pod rules")
			}
		})
	}
}

func TestExampleGatewayBuilt(t *testing.T) {
	p := loadExample(t, "gateway-built.yaml")
	golden := readJSON(t, "attest/provenance/testdata/git.golden.json")
	dev := rewrite(t, golden, "https://hallmark.example.com/builders/prod", devBuilder)
	sbom := readJSON(t, "attest/sbom/testdata/golden/distroless.spdx.json")
	runExampleCases(t, p, []exampleCase{
		{"dev build", Input{Provenance: dev, SBOM: sbom, Attestations: devAttestations(slsa, spdx)}, nil},
		{"other builder", Input{Provenance: golden, SBOM: sbom, Attestations: devAttestations(slsa, spdx)},
			[]string{"builders"}},
		{"no SBOM", Input{Provenance: dev, Attestations: devAttestations(slsa)},
			[]string{"requirePredicateType:" + spdx}},
		{"nothing verified", Input{}, []string{"requirePredicateType:" + slsa, "requirePredicateType:" + spdx, "builders"}},
	})
}

func TestExampleBaseAllowlist(t *testing.T) {
	p := loadExample(t, "base-allowlist.yaml")
	devRegistry := []string{"pkg:docker/localhost:5000/", "pkg:docker/127.0.0.1:7434/"}
	git := readJSON(t, "attest/provenance/testdata/git.golden.json")
	upload := readJSON(t, "attest/provenance/testdata/upload.golden.json")
	inline := readJSON(t, "attest/provenance/testdata/inline.golden.json")
	scratch := rewrite(t, inline)
	def := scratch["buildDefinition"].(map[string]any)
	var deps []any
	for _, d := range def["resolvedDependencies"].([]any) {
		if _, named := d.(map[string]any)["name"]; named {
			deps = append(deps, d)
		}
	}
	def["resolvedDependencies"] = deps
	att := devAttestations(slsa)
	runExampleCases(t, p, []exampleCase{
		{"dev bases", Input{Provenance: rewrite(t, git, devRegistry...), Attestations: att}, nil},
		{"dev base pinned in FROM", Input{Provenance: rewrite(t, inline, devRegistry...), Attestations: att}, nil},
		{"FROM scratch", Input{Provenance: scratch, Attestations: att}, nil},
		{"other registry", Input{Provenance: git, Attestations: att}, []string{"base-allowlist"}},
		{"Docker Hub base", Input{Provenance: rewrite(t, upload, devRegistry...), Attestations: att}, []string{"base-allowlist"}},
		{"look-alike repository", Input{Provenance: rewrite(t, git, devRegistry[0], devRegistry[1],
			"hallmark/static@", "hallmark/static-evil@"), Attestations: att}, []string{"base-allowlist"}},
		{"no provenance", Input{}, []string{"requirePredicateType:" + slsa, "base-allowlist"}},
	})
}

func TestExamplePackageDenylist(t *testing.T) {
	p := loadExample(t, "package-denylist.yaml")
	alpine := readJSON(t, "attest/sbom/testdata/golden/alpine.spdx.json")
	distroless := readJSON(t, "attest/sbom/testdata/golden/distroless.spdx.json")
	att := devAttestations(spdx)
	pkg := func(name, version string) map[string]any {
		m := map[string]any{"name": name, "SPDXID": "SPDXRef-Package-x", "downloadLocation": "NOASSERTION"}
		if version != "" {
			m["versionInfo"] = version
		}
		return m
	}
	runExampleCases(t, p, []exampleCase{
		{"alpine", Input{SBOM: alpine, Attestations: att}, nil},
		{"distroless", Input{SBOM: distroless, Attestations: att}, nil},
		{"log4j-core", Input{SBOM: withPackage(t, alpine, pkg("log4j-core", "2.14.1")), Attestations: att},
			[]string{"denied-packages"}},
		{"Debian xz-utils 5.6.1", Input{SBOM: withPackage(t, distroless, pkg("xz-utils", "5.6.1-1")), Attestations: att},
			[]string{"xz-backdoor"}},
		{"Debian liblzma5 5.6.0", Input{SBOM: withPackage(t, distroless, pkg("liblzma5", "5.6.0-0.2")), Attestations: att},
			[]string{"xz-backdoor"}},
		{"Alpine xz 5.6.1", Input{SBOM: withPackage(t, alpine, pkg("xz", "5.6.1-r1")), Attestations: att},
			[]string{"xz-backdoor"}},
		{"Debian rollback", Input{SBOM: withPackage(t, distroless, pkg("xz-utils", "5.6.1+really5.4.5-1")), Attestations: att}, nil},
		{"fixed xz", Input{SBOM: withPackage(t, alpine, pkg("xz-libs", "5.6.2-r0")), Attestations: att}, nil},
		{"xz without version", Input{SBOM: withPackage(t, alpine, pkg("xz", "")), Attestations: att}, nil},
		{"no SBOM", Input{}, []string{"requirePredicateType:" + spdx, "denied-packages", "xz-backdoor"}},
	})
}

func TestExampleSourceAllowlist(t *testing.T) {
	p := loadExample(t, "source-allowlist.yaml")
	git := readJSON(t, "attest/provenance/testdata/git.golden.json")
	upload := readJSON(t, "attest/provenance/testdata/upload.golden.json")
	att := devAttestations(slsa)
	runExampleCases(t, p, []exampleCase{
		{"allowlisted git", Input{Provenance: git, Attestations: att}, nil},
		{"GitHub", Input{Provenance: rewrite(t, git, "https://gitlab.example.com/acme/app.git", "https://github.com/acme/app"),
			Attestations: att}, nil},
		{"other repository", Input{Provenance: rewrite(t, git, "acme/app.git", "acme/other.git"), Attestations: att},
			[]string{"source-allowlist"}},
		{"uploaded context", Input{Provenance: upload, Attestations: att}, []string{"source-allowlist"}},
		{"allowlisted git, inline Dockerfile", Input{Provenance: rewrite(t, git, `"dockerfile":{"path":"Dockerfile"}`,
			`"dockerfile":{"digest":"sha256:62f0ecc5289f6f818ec7408edbbe2da7232f53cd8836944f5c7fffd745506074","inline":true}`), Attestations: att},
			[]string{"recipe-from-source"}},
		{"no provenance", Input{}, []string{"requirePredicateType:" + slsa, "source-allowlist", "recipe-from-source"}},
	})
}
