package sbom

import (
	"bytes"
	"cmp"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/hallmark-dev/hallmark/internal/golden"
)

// cdxFixtures are SPDX golden files that the CycloneDX tests convert: OS
// packages with licenses and layers (alpine), nested containment (contain),
// distroless dpkg evidence.
var cdxFixtures = []string{"alpine", "contain", "distroless"}

// parseGolden parses testdata/golden/NAME.spdx.json.
func parseGolden(t *testing.T, name string) *Document {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "golden", name+".spdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// cdxJSON converts doc and encodes it.
func cdxJSON(t *testing.T, doc *Document, opts ...CycloneDXOption) []byte {
	t.Helper()
	bom, err := doc.CycloneDX(opts...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeCycloneDX(bom)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCycloneDXGolden converts the SPDX golden files (go test -run
// CycloneDXGolden -update rewrites testdata/golden/*.cdx.json); twice,
// from two parses, to the same bytes.
func TestCycloneDXGolden(t *testing.T) {
	for _, name := range cdxFixtures {
		t.Run(name, func(t *testing.T) {
			got := cdxJSON(t, parseGolden(t, name))
			golden.Check(t, filepath.Join("testdata", "golden", name+".cdx.json"), got)
			if again := cdxJSON(t, parseGolden(t, name)); !bytes.Equal(got, again) {
				t.Error("converting the same SBOM twice gave different BOMs")
			}
		})
	}
}

// graph reads a BOM's dependencies as bom-ref → the ref that depends on
// it, and fails on a ref listed twice.
func graph(t *testing.T, bom *cdx.BOM) map[string]string {
	t.Helper()
	parents := map[string]string{}
	for _, d := range *bom.Dependencies {
		for _, ref := range *d.Dependencies {
			if _, dup := parents[ref]; dup {
				t.Errorf("%s is in two dependsOn lists", ref)
			}
			parents[ref] = d.Ref
		}
	}
	return parents
}

// TestCycloneDXPackages checks that every SPDX package is one component
// with the same id, name, version, purl and license, in the dependsOn of
// its container as the CONTAINS relationships say (else of the image), and that the BOM is valid CycloneDX 1.6 as
// far as the library's decoder and the schema's patterns go.
func TestCycloneDXPackages(t *testing.T) {
	serial := regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, name := range cdxFixtures {
		t.Run(name, func(t *testing.T) {
			doc := parseGolden(t, name)
			var bom cdx.BOM
			if err := cdx.NewBOMDecoder(bytes.NewReader(cdxJSON(t, doc)), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
				t.Fatal(err)
			}
			if bom.BOMFormat != "CycloneDX" || bom.SpecVersion != cdx.SpecVersion1_6 || !serial.MatchString(bom.SerialNumber) || bom.Version != 1 {
				t.Errorf("header: format %q, spec %v, serial %q, version %d", bom.BOMFormat, bom.SpecVersion, bom.SerialNumber, bom.Version)
			}
			if _, err := time.Parse(time.RFC3339, bom.Metadata.Timestamp); err != nil || bom.Metadata.Timestamp != doc.SPDX().CreationInfo.Created {
				t.Errorf("timestamp %q, want the SPDX creation time %q", bom.Metadata.Timestamp, doc.SPDX().CreationInfo.Created)
			}
			tools := *bom.Metadata.Tools.Components
			if len(tools) != 1 || tools[0].Name != "hallmark" || tools[0].Version != "v0.0.0-test" {
				t.Errorf("tools = %+v", tools)
			}
			img, root := bom.Metadata.Component, doc.rootPackage()
			if img.Type != cdx.ComponentTypeContainer || img.Name != root.PackageName || img.Version != doc.Digest().String() ||
				img.PackageURL != spdxPURL(root) || !strings.HasPrefix(img.PackageURL, "pkg:oci/") ||
				(*img.Hashes)[0] != (cdx.Hash{Algorithm: cdx.HashAlgoSHA256, Value: doc.Digest().Hex()}) {
				t.Errorf("image component = %+v", img)
			}
			comps := map[string]cdx.Component{}
			for _, c := range *bom.Components {
				if _, dup := comps[c.BOMRef]; dup || c.Components != nil {
					t.Errorf("component %s is listed twice or has components", c.BOMRef)
				}
				comps[c.BOMRef] = c
			}
			if len(comps) != len(doc.Packages()) || len(comps) == 0 {
				t.Errorf("%d components for %d packages", len(comps), len(doc.Packages()))
			}
			for _, p := range doc.SPDX().Packages {
				if p.PackageSPDXIdentifier == rootID {
					continue
				}
				c, ok := comps["SPDXRef-"+string(p.PackageSPDXIdentifier)]
				if !ok || c.Name != p.PackageName || c.Version != p.PackageVersion || c.PackageURL != spdxPURL(p) || c.Type != cdx.ComponentTypeLibrary {
					t.Errorf("package %s (%s %s %s) is component %+v", p.PackageSPDXIdentifier, p.PackageName, p.PackageVersion, spdxPURL(p), c)
				}
				if lic := p.PackageLicenseDeclared; lic != "" && lic != noAssertion && (c.Licenses == nil || (*c.Licenses)[0].Expression != lic) {
					t.Errorf("package %s: license %q is %+v", p.PackageSPDXIdentifier, lic, c.Licenses)
				}
			}
			parents, want := graph(t, &bom), containedBy(doc.SPDX())
			for ref := range comps {
				if w := cmp.Or(want[ref], cdxImageRef); parents[ref] != w {
					t.Errorf("%s is in the dependsOn of %q, want %q", ref, parents[ref], w)
				}
			}
		})
	}
}

// TestCycloneDXContainment checks the dependency graph of the contain
// fixture by purl against the SPDX document's CONTAINS relationships.
func TestCycloneDXContainment(t *testing.T) {
	doc := parseGolden(t, "contain")
	bom, err := doc.CycloneDX()
	if err != nil {
		t.Fatal(err)
	}
	purls := map[string]string{}
	for _, c := range *bom.Components {
		purls[c.BOMRef] = c.PackageURL
	}
	var pairs []string
	for ref, parent := range graph(t, bom) {
		if parent != cdxImageRef {
			pairs = append(pairs, purls[parent]+" > "+purls[ref])
		}
	}
	slices.Sort(pairs)
	if want := containmentPairs(t, doc.SPDX()); !slices.Equal(pairs, want) || len(want) == 0 {
		t.Errorf("dependencies:\n%s\nwant the SPDX containment:\n%s", strings.Join(pairs, "\n"), strings.Join(want, "\n"))
	}
}

func TestContainedByCycles(t *testing.T) {
	rel := func(a, b string) *v2_3.Relationship {
		return &v2_3.Relationship{RefA: common.MakeDocElementID("", a), RefB: common.MakeDocElementID("", b), Relationship: common.TypeRelationshipContains}
	}
	doc := &v2_3.Document{
		Packages: []*v2_3.Package{{PackageSPDXIdentifier: rootID}, {PackageSPDXIdentifier: "a"}, {PackageSPDXIdentifier: "b"}, {PackageSPDXIdentifier: "c"}},
		Relationships: []*v2_3.Relationship{
			rel(rootID, "a"), rel("a", "b"), rel("b", "c"), rel("c", "a"), // the last would close a cycle
			rel("c", "b"),       // b has a container already
			rel("a", "missing"), // no such package
			{RefA: common.MakeDocElementID("other", "x"), RefB: common.MakeDocElementID("", "c"), Relationship: common.TypeRelationshipContains},
		},
	}
	got := containedBy(doc)
	want := map[string]string{"SPDXRef-b": "SPDXRef-a", "SPDXRef-c": "SPDXRef-b"}
	if len(got) != len(want) || got["SPDXRef-b"] != want["SPDXRef-b"] || got["SPDXRef-c"] != want["SPDXRef-c"] {
		t.Errorf("containedBy = %v, want %v", got, want)
	}
}

func TestCycloneDXEmpty(t *testing.T) {
	if _, err := (&Document{}).CycloneDX(); err == nil {
		t.Error("an empty document converted")
	}
	if _, err := (*Document)(nil).CycloneDX(); err == nil {
		t.Error("a nil document converted")
	}
}

func TestUUIDv5(t *testing.T) {
	// Python's uuid.uuid5(uuid.NAMESPACE_URL, "https://hallmark.dev/").
	if got, want := uuidV5("https://hallmark.dev/"), "a132d574-9182-5ed9-83ce-81a4967c4213"; got != want {
		t.Errorf("uuidV5 = %s, want %s", got, want)
	}
	if uuidV5("a") == uuidV5("b") {
		t.Error("different names, same UUID")
	}
}

// testFindings are findings of the alpine fixture's packages.
func testFindings(t *testing.T, doc *Document) []Finding {
	t.Helper()
	purl := func(name string) string {
		for _, p := range doc.Packages() {
			if p.Name == name {
				return p.PURL
			}
		}
		t.Fatalf("no package %s", name)
		return ""
	}
	return []Finding{
		{ID: "CVE-2024-0002", Package: purl("zlib"), Installed: "1.3.1-r0", Fixed: []string{"1.3.1-r1"}, Summary: "zlib <overflow>",
			Severity: FindingSeverity{Level: "high", Score: 7.5, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", Source: "CVE-2024-0002"},
			Modified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))},
		{ID: "ALPINE-1", Aliases: []string{"CVE-2024-0001", "BIT-1"}, Package: purl("musl"), Installed: "1.2.5-r0",
			Severity: FindingSeverity{Level: "medium", Vector: "Alpine:medium", Source: "ALPINE-1"}},
		{ID: "ALPINE-1", Package: purl("zlib"), Installed: "1.3.1-r0"},
	}
}

func TestCycloneDXFindings(t *testing.T) {
	doc := parseGolden(t, "alpine")
	t.Run("golden", func(t *testing.T) {
		got := cdxJSON(t, doc, WithFindings(testFindings(t, doc)))
		golden.Check(t, filepath.Join("testdata", "golden", "alpine-findings.cdx.json"), got)
	})
	t.Run("unknown package", func(t *testing.T) {
		_, err := doc.CycloneDX(WithFindings([]Finding{{ID: "X-1", Package: "pkg:apk/alpine/nope@1"}}))
		if err == nil || !strings.Contains(err.Error(), "pkg:apk/alpine/nope@1 is not in the sbom") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("none", func(t *testing.T) {
		bom, err := doc.CycloneDX(WithFindings(nil))
		if err != nil || bom.Vulnerabilities != nil {
			t.Errorf("vulnerabilities %v, err %v", bom.Vulnerabilities, err)
		}
	})
}

func TestScoringMethod(t *testing.T) {
	tests := []struct {
		vector string
		want   cdx.ScoringMethod
	}{
		{"CVSS:4.0/AV:N", cdx.ScoringMethodCVSSv4},
		{"CVSS:3.1/AV:N", cdx.ScoringMethodCVSSv31},
		{"CVSS:3.0/AV:N", cdx.ScoringMethodCVSSv3},
		{"AV:N/AC:L/Au:N/C:P/I:P/A:P", cdx.ScoringMethodCVSSv2},
		{"Ubuntu:medium", cdx.ScoringMethodOther},
		{"", cdx.ScoringMethodOther},
	}
	for _, tt := range tests {
		if got := scoringMethod(tt.vector); got != tt.want {
			t.Errorf("scoringMethod(%q) = %q, want %q", tt.vector, got, tt.want)
		}
	}
}

// TestCycloneDXNoPackages converts an image without packages: the image
// is an empty element of the dependency graph (CycloneDX's "no
// dependencies", where a component left out of it has unknown ones).
func TestCycloneDXNoPackages(t *testing.T) {
	doc := parseGolden(t, "alpine")
	doc.packages = nil
	got := string(cdxJSON(t, doc))
	if strings.Contains(got, "\n  \"components\"") || strings.Contains(got, `"dependsOn"`) || !strings.Contains(got, "\"dependencies\": [\n    {\n      \"ref\": \"SPDXRef-Image\"\n    }\n  ]") {
		t.Errorf("BOM of no packages:\n%s", got)
	}
}
