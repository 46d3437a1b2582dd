package sbom

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/hallmark-dev/hallmark"
)

// nestedShopJar is a Spring Boot style jar with what containment must
// follow: a shaded dependency (guava's pom.properties in the jar itself),
// a library under BOOT-INF/lib, a fat library with a shaded dependency of
// its own and a jar nested in it (two deep), and a jar without a manifest
// (no package of its own) holding another. Nothing is compressed, so that
// the golden file does not depend on compress/flate's output.
func nestedShopJar(t testing.TB) []byte {
	t.Helper()
	stored := func(files ...zipFile) []byte {
		for i := range files {
			files[i].store = true
		}
		return zipBytes(t, files...)
	}
	deep := stored(manifest(""), pomProps("org.example", "deep", "1.0"))
	fat := stored(manifest(""), pomProps("org.example", "fat", "2.0"), pomProps("org.shaded", "dep", "3"), zipFile{name: "lib/deep-1.0.jar", body: deep})
	noManifest := stored(zipFile{name: "x/inner-5.jar", body: stored(manifest(""), pomProps("org.example", "inner", "5"))})
	return stored(
		manifest("Main-Class: org.springframework.boot.loader.launch.JarLauncher\r\nStart-Class: com.example.shop.Application\r\n"),
		pomProps("com.example", "shop", "1.4.0"),
		pomProps("com.google.guava", "guava", "31.1-jre"),
		zipFile{name: "BOOT-INF/lib/lib-1.0.jar", body: stored(manifest(""), pomProps("org.example", "lib", "1.0"))},
		zipFile{name: "BOOT-INF/lib/fat-2.0.jar", body: fat},
		zipFile{name: "BOOT-INF/lib/nomf.jar", body: noManifest},
	)
}

// rustELF is an executable with a cargo auditable list: the root crate
// app, a runtime crate and a build dependency, in a zlib stream of stored
// blocks (no compress/flate output in the golden file either).
func rustELF() []byte {
	var deps bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&deps, zlib.NoCompression)
	_, _ = zw.Write([]byte(`{"packages":[{"name":"app","version":"0.1.0","source":"local","dependencies":[1,2],"root":true},` +
		`{"name":"serde","version":"1.0.198","source":"crates.io"},{"name":"syn","version":"2.0.60","source":"crates.io","kind":"build"}]}`))
	_ = zw.Close()
	return testELF(binary.LittleEndian, true, false, testSection{".text", 1, []byte("code")}, testSection{".dep-v0", 1, deps.Bytes()})
}

// containLayers are the image of the contain golden file: the Spring Boot
// style jar and the Rust executable. A Go executable would make the file
// depend on the Go version that builds the test's (its stdlib package),
// so TestContainment covers Go.
func containLayers(t testing.TB, layer layerFunc) []v1.Layer {
	return []v1.Layer{layer(t, dir("app"), file("app/shop.jar", nestedShopJar(t)), dir("usr"), dir("usr/local"), dir("usr/local/bin"), exe("usr/local/bin/app", rustELF()))}
}

// containmentPairs are the package-to-package CONTAINS relationships of
// doc as "container purl > contained purl", sorted; it also checks that
// the image CONTAINS every package.
func containmentPairs(t *testing.T, doc *v2_3.Document) []string {
	t.Helper()
	purls := map[common.ElementID]string{}
	for _, p := range doc.Packages {
		purls[p.PackageSPDXIdentifier] = p.PackageExternalReferences[0].Locator
	}
	fromImage := map[common.ElementID]bool{}
	var pairs []string
	for _, r := range doc.Relationships {
		switch {
		case r.Relationship == common.TypeRelationshipDescribe:
		case r.Relationship != common.TypeRelationshipContains:
			t.Errorf("relationship %s", r.Relationship)
		case r.RefA.ElementRefID == rootID:
			fromImage[r.RefB.ElementRefID] = true
		default:
			pairs = append(pairs, purls[r.RefA.ElementRefID]+" > "+purls[r.RefB.ElementRefID])
		}
	}
	if len(fromImage) != len(doc.Packages)-1 {
		t.Errorf("the image CONTAINS %d packages of %d", len(fromImage), len(doc.Packages)-1)
	}
	slices.Sort(pairs)
	return pairs
}

// TestContainment: the package-to-package CONTAINS relationships of a
// Spring Boot style jar, a Go executable and a Rust executable, alone and
// in one image, and of files that contain no such pairs.
func TestContainment(t *testing.T) {
	goVersion := strings.TrimPrefix(runtime.Version(), "go")
	const shop, fat = "pkg:maven/com.example/shop@1.4.0", "pkg:maven/org.example/fat@2.0"
	jar := []string{
		shop + " > pkg:maven/com.google.guava/guava@31.1-jre", // shaded in the jar
		shop + " > pkg:maven/org.example/lib@1.0",             // BOOT-INF/lib
		shop + " > " + fat,                        // BOOT-INF/lib
		shop + " > pkg:maven/org.example/inner@5", // in a jar without a package of its own
		fat + " > pkg:maven/org.example/deep@1.0", // two deep
		fat + " > pkg:maven/org.shaded/dep@3",     // shaded in the nested jar
	}
	golang := []string{
		"pkg:golang/example.com/hello > pkg:golang/example.com/lib@v1.2.3",
		"pkg:golang/example.com/hello > pkg:golang/example.com/local",
		"pkg:golang/example.com/hello > pkg:golang/example.com/new@v1.1.0",
		"pkg:golang/example.com/hello > pkg:golang/stdlib@" + goVersion,
	}
	rust := []string{"pkg:cargo/app@0.1.0 > pkg:cargo/serde@1.0.198"}
	tests := []struct {
		name    string
		entries []entry
		want    []string
	}{
		{"Spring Boot jar", []entry{file("app/shop.jar", nestedShopJar(t))}, jar},
		{"Go executable", []entry{exe("usr/local/bin/hello", readFile(t, helloBinary(t)))}, golang},
		{"Rust executable", []entry{exe("usr/local/bin/app", rustELF())}, rust},
		{"all three", []entry{file("app/shop.jar", nestedShopJar(t)), exe("usr/local/bin/hello", readFile(t, helloBinary(t))), exe("usr/local/bin/app", rustELF())},
			slices.Concat(jar, golang, rust)},
		{"a jar alone, a distribution zip, dpkg", []entry{
			file("usr/share/java/x.jar", zipBytes(t, manifest(""), pomProps("org.x", "x", "1"))),
			file("opt/tool-1.0.zip", zipBytes(t, zipFile{name: "lib/y-1.jar", body: zipBytes(t, manifest(""), pomProps("org.y", "y", "1"))})),
			statusD("a", "1"),
		}, nil},
		{"a Rust list without a root", []entry{exe("usr/local/bin/old", testELF(binary.LittleEndian, true, false,
			testSection{".rust-deps-v0", 1, zlibBytes(`{"packages":[{"name":"old","version":"0.0.1"},{"name":"dep","version":"1.0.0"}]}`)}))}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Generate(t.Context(), image(t, layer(t, tt.entries...)), WithCreated(fixedTime))
			if err != nil {
				t.Fatal(err)
			}
			if w := doc.Warnings(); len(w) != 0 {
				t.Errorf("warnings %q", w)
			}
			want := slices.Sorted(slices.Values(tt.want))
			if got := containmentPairs(t, doc.SPDX()); !slices.Equal(got, want) {
				t.Errorf("CONTAINS\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestContainmentRoundTrip: Parse reads the containers back as Main, and
// an image built on a base image whose SBOM is reused has the same
// relationships as when it is cataloged whole, the base's included; when
// the evidence is dropped to fit the size limit, the relationships stay.
func TestContainmentRoundTrip(t *testing.T) {
	base := []v1.Layer{layer(t,
		file("app/shop.jar", nestedShopJar(t)),
		file("app/boot/shop.jar", springBootJar(t)),
		exe("usr/local/bin/hello", readFile(t, helloBinary(t))),
		exe("usr/local/bin/app", rustELF()),
	)}
	baseDoc, err := Generate(t.Context(), image(t, base...), WithCreated(fixedTime))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := baseDoc.JSON()
	verified, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	isContainer := map[string]bool{}
	for _, c := range containers(baseDoc.packages) {
		if c >= 0 {
			isContainer[baseDoc.packages[c].SPDXID] = true
		}
	}
	if len(isContainer) != 5 { // the two shop jars, fat, hello, app
		t.Errorf("%d containers: %v", len(isContainer), slices.Sorted(maps.Keys(isContainer)))
	}
	for _, p := range verified.Packages() {
		if p.Main != isContainer[p.SPDXID] {
			t.Errorf("parsed %s: Main %v, want %v", p.PURL, p.Main, isContainer[p.SPDXID])
		}
	}
	basePairs := containmentPairs(t, baseDoc.SPDX())
	if again := containmentPairs(t, verified.SPDX()); !slices.Equal(again, basePairs) {
		t.Errorf("parsed document's pairs %q, want %q", again, basePairs)
	}

	img := image(t, append(base, layer(t, file("srv/shop.jar", nestedShopJar(t)), whiteout("usr/local/bin/.wh.app")))...)
	reused, err := Generate(t.Context(), img, WithCreated(fixedTime), WithBaseSBOM(verified, 1))
	if err != nil {
		t.Fatal(err)
	}
	full, err := Generate(t.Context(), img, WithCreated(fixedTime))
	if err != nil {
		t.Fatal(err)
	}
	if s := reused.Summary(); s.FromBase == 0 || len(reused.Warnings()) != 0 {
		t.Fatalf("summary %+v, warnings %q: the base SBOM was not reused", s, reused.Warnings())
	}
	got, want := containmentPairs(t, reused.SPDX()), containmentPairs(t, full.SPDX())
	if !slices.Equal(got, want) {
		t.Errorf("with the base SBOM\n%s\nwhole\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(relationshipIDs(reused.SPDX()), relationshipIDs(full.SPDX())) {
		t.Error("the relationships' SPDXIDs differ with and without the base SBOM")
	}
	if n := len(want) - len(basePairs); n != 6-1 { // the new jar's 6, less the Rust executable's one
		t.Errorf("%d pairs more than the base's, want 5", n)
	}

	fullJSON, _ := full.JSON()
	small, err := Generate(t.Context(), img, WithCreated(fixedTime), WithMaxDocumentBytes(int64(len(fullJSON)-1)))
	if err != nil {
		t.Fatal(err)
	}
	if !small.Summary().EvidenceOmitted || !slices.Equal(relationshipIDs(small.SPDX()), relationshipIDs(full.SPDX())) {
		t.Error("the relationships changed when the evidence was dropped")
	}
	smallJSON, _ := small.JSON()
	if parsed, err := Parse(smallJSON); err != nil || !slices.Equal(containmentPairs(t, parsed.SPDX()), want) {
		t.Errorf("parse the document without evidence: %v", err)
	}
}

// relationshipIDs lists a document's relationships as "A TYPE B", in order.
func relationshipIDs(doc *v2_3.Document) []string {
	var out []string
	for _, r := range doc.Relationships {
		out = append(out, string(r.RefA.ElementRefID)+" "+r.Relationship+" "+string(r.RefB.ElementRefID))
	}
	return out
}

// TestContainers: the nearest container of packages as the catalogers
// never produce them, too.
func TestContainers(t *testing.T) {
	l1, l2 := hallmark.Digest("sha256:"+strings.Repeat("1", 64)), hallmark.Digest("sha256:"+strings.Repeat("2", 64))
	pkg := func(id, typ string, layer hallmark.Digest, path string, main bool) Package {
		return Package{SPDXID: "SPDXRef-" + id, Type: typ, Layer: layer, Path: path, Main: main}
	}
	tests := []struct {
		name string
		pkgs []Package
		want []int
	}{
		{"aux by main", []Package{pkg("a", "maven", l1, "/a.jar", false), pkg("b", "maven", l1, "/a.jar", true)}, []int{1, -1}},
		{"nested main by outer main", []Package{pkg("a", "maven", l1, "/a.jar!/b.jar", true), pkg("b", "maven", l1, "/a.jar", true)}, []int{1, -1}},
		{"past a level without a main", []Package{pkg("a", "maven", l1, "/a.jar!/b.jar!/c.jar", false), pkg("b", "maven", l1, "/a.jar", true)}, []int{1, -1}},
		{"nearest level", []Package{pkg("a", "maven", l1, "/a.jar!/b.jar!/c.jar", true), pkg("b", "maven", l1, "/a.jar!/b.jar", true), pkg("c", "maven", l1, "/a.jar", true)},
			[]int{1, 2, -1}},
		{"another layer", []Package{pkg("a", "maven", l1, "/a.jar", false), pkg("b", "maven", l2, "/a.jar", true)}, []int{-1, -1}},
		{"another file", []Package{pkg("a", "maven", l1, "/a.jar", false), pkg("b", "maven", l1, "/b.jar", true)}, []int{-1, -1}},
		{"a path that only starts alike", []Package{pkg("a", "maven", l1, "/a.jar!/b.jar", false), pkg("b", "maven", l1, "/a.ja", true)}, []int{-1, -1}},
		{"Go and Rust in one executable", []Package{
			pkg("a", "cargo", l1, "/bin/x", false), pkg("b", "golang", l1, "/bin/x", true), pkg("c", "cargo", l1, "/bin/x", true), pkg("d", "golang", l1, "/bin/x", false)},
			[]int{2, -1, -1, 1}},
		{"two mains: the first", []Package{pkg("a", "golang", l1, "/bin/x", true), pkg("b", "golang", l1, "/bin/x", true), pkg("c", "golang", l1, "/bin/x", false)},
			[]int{-1, -1, 0}},
		{"no evidence", []Package{pkg("a", "maven", "", "", false), pkg("b", "maven", "", "", true)}, []int{-1, -1}},
		{"dpkg", []Package{pkg("a", "deb", l1, "/var/lib/dpkg/status", false), pkg("b", "deb", l1, "/var/lib/dpkg/status", false)}, []int{-1, -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := containers(tt.pkgs); !slices.Equal(got, tt.want) {
				t.Errorf("containers = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestParseRelationships: relationships other than Hallmark's do not fail
// Parse nor make a package Main; one that names an unknown element does.
func TestParseRelationships(t *testing.T) {
	doc, err := Generate(t.Context(), image(t, layer(t, file("app/shop.jar", nestedShopJar(t)))), WithCreated(fixedTime))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := doc.JSON()
	pkgs := doc.Packages()
	a, c := pkgs[0].SPDXID, pkgs[len(pkgs)-1].SPDXID
	if !pkgs[0].Main || len(contents(pkgs, 0)) != 0 {
		t.Fatalf("the first package %+v is not a Main package that contains nothing", pkgs[0])
	}
	tests := []struct {
		name    string
		rel     string // spdxElementId relationshipType relatedSpdxElement
		wantErr bool
	}{
		{"DEPENDS_ON between packages", a + " DEPENDS_ON " + c, false},
		{"CONTAINS from the document", "SPDXRef-DOCUMENT CONTAINS " + c, false},
		{"CONTAINS from another document's element", "DocumentRef-other:" + a + " CONTAINS " + c, false},
		{"OTHER", a + " OTHER " + c, false},
		{"unknown element", a + " CONTAINS SPDXRef-Package-nothing", true},
		{"unknown container", "SPDXRef-Package-nothing CONTAINS " + c, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := strings.Fields(tt.rel)
			extra := `{"spdxElementId":"` + f[0] + `","relationshipType":"` + f[1] + `","relatedSpdxElement":"` + f[2] + `"},`
			in := strings.Replace(string(b), `"relationships":[`, `"relationships":[`+extra, 1)
			if in == string(b) {
				t.Fatal("no relationships in the document")
			}
			parsed, err := Parse([]byte(in))
			if tt.wantErr {
				if !errors.Is(err, hallmark.ErrInvalid) {
					t.Fatalf("error = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range parsed.Packages() {
				if want := len(contents(pkgs, i)) > 0; p.Main != want {
					t.Errorf("%s: Main %v, want %v", p.PURL, p.Main, want)
				}
			}
		})
	}
}

// contents returns the indexes of the packages that pkgs[i] contains.
func contents(pkgs []Package, i int) []int {
	var out []int
	for j, c := range containers(pkgs) {
		if c == i {
			out = append(out, j)
		}
	}
	return out
}
