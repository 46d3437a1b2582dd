package sbom

import (
	"strings"
	"testing"
)

func TestParseRDescription(t *testing.T) {
	const glue = "Package: glue\nTitle: Interpreted String Literals\nVersion: 1.6.2\nAuthors@R: c(\n    person(\"Jim\", \"Hester\", role = \"aut\"),\n    person(\"RStudio\", role = c(\"cph\", \"fnd\"))\n  )\n" +
		"Description: An implementation of interpreted string literals.\nLicense: MIT + file LICENSE\nNeedsCompilation: yes\nBuilt: R 4.1.2; x86_64-pc-linux-gnu; 'Wed, 09 Mar 2022 20:54:07 +0100'; unix\n"
	tests := []parseCase{
		{"installed package", glue, "pkg:cran/glue@1.6.2", "MIT", false},
		{"base package", "Package: base\nVersion: 4.2.2\nPriority: base\nLicense: Part of R 4.2.2\nBuilt: R 4.2.2; ; 2023-01-20 18:24:23 UTC; unix\n", "pkg:cran/base@4.2.2", "Part of R 4.2.2", false},
		{"alternatives", "Package: base64enc\nVersion: 0.1-3\nLicense: GPL-2 | GPL-3\n", "pkg:cran/base64enc@0.1-3", "GPL-2.0-only OR GPL-3.0-only", false},
		{"version ranges", "Package: x\nVersion: 1.0\nLicense: GPL (>= 2) | LGPL(>=2.1) | BSD_3_clause + file LICENSE\n", "pkg:cran/x@1.0", "GPL-2.0-or-later OR LGPL-2.1-or-later OR BSD-3-Clause", false},
		{"an unknown alternative keeps the field", "Package: x\nVersion: 1.0\nLicense: MIT | file LICENSE\n", "pkg:cran/x@1.0", "MIT | file LICENSE", false},
		{"unversioned GPL as written", "Package: mime\nVersion: 0.12\nLicense: GPL\n", "pkg:cran/mime@0.12", "GPL", false},
		{"continued license", "Package: x\nVersion: 2\nLicense: GPL-2 |\n    GPL-3\n", "pkg:cran/x@2", "GPL-2.0-only OR GPL-3.0-only", false},
		{"CRLF, blank lines, a later field wins", "Package: a\r\n\r\nVersion: 1\r\nPackage: b\r\n", "pkg:cran/b@1", "", false},
		{"a line without a colon ends a field", "Package: a\nVersion: 1\nLicense: MIT\nnot a field\n  continued\n", "pkg:cran/a@1", "MIT", false},
		{"field names are exact", "package: a\nVersion: 1\n", "", "", false},
		{"not R's", "DESCRIPTION\n===========\nThis directory holds the manual.\n", "", "", false},
		{"no version", "Package: a\n", "", "", false},
		{"a name over two lines", "Package: a\n b\nVersion: 1\n", "", "", true},
		{"empty", "", "", "", false},
	}
	runParseCases(t, "cran", parseRDescription, tests)
}

func TestParseRDescriptionLongLine(t *testing.T) {
	in := "Package: a\nVersion: 1\nDescription: " + strings.Repeat("x", maxDescriptionBytes) + "\n"
	pkgs, err := parseRDescription(strings.NewReader(in), int64(len(in)))
	if err == nil || len(pkgs) != 1 || pkgs[0].PURL != "pkg:cran/a@1" {
		t.Errorf("parseRDescription = %+v, %v; want the package and an error", pkgs, err)
	}
}

// TestGenerateR: the R fixture's packages (R's base packages, Debian's
// r-cran-* in site-library, their dpkg packages), an R package installed
// with install.packages in /usr/local, an application's DESCRIPTION; a
// package removed by a later layer is not listed, a DESCRIPTION that is
// not R's yields nothing, one over the limit a warning.
func TestGenerateR(t *testing.T) {
	const site = "usr/local/lib/R/site-library/"
	layers := append(rLayers(t, layer),
		layer(t,
			file(site+"jsonlite/DESCRIPTION", []byte("Package: jsonlite\nVersion: 1.8.8\nLicense: MIT + file LICENSE\nBuilt: R 4.2.2; x86_64-pc-linux-gnu; 2024-01-01; unix\n")),
			file("srv/dashboard/DESCRIPTION", []byte("Package: dashboard\nType: Package\nVersion: 0.3.0\nImports: jsonlite\n")),
			file("usr/share/doc/texinfo/DESCRIPTION", []byte("The files in this directory are the manual.\n")),
			file(site+"huge/DESCRIPTION", append([]byte("Package: huge\nVersion: 1\n"), strings.Repeat("#", maxDescriptionBytes)...)),
		),
		layer(t, whiteout("usr/lib/R/site-library/.wh.praise")),
	)
	doc, err := Generate(t.Context(), image(t, layers...))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Package{}
	for _, p := range doc.Packages() {
		if p.Type == "cran" {
			got[p.PURL] = p
		}
	}
	if s := doc.Summary(); s.ByType["cran"] != 15+4+2 || s.ByType["deb"] != 6 {
		t.Errorf("summary %+v", s)
	}
	for purl, want := range map[string]Package{
		"pkg:cran/base@4.2.2":         {Path: "/usr/lib/R/library/base/DESCRIPTION", License: "Part of R 4.2.2"},
		"pkg:cran/R6@2.5.1":           {Path: "/usr/lib/R/site-library/R6/DESCRIPTION", License: "MIT"},
		"pkg:cran/base64enc@0.1-3":    {Path: "/usr/lib/R/site-library/base64enc/DESCRIPTION", License: "GPL-2.0-only OR GPL-3.0-only"},
		"pkg:cran/jsonlite@1.8.8":     {Path: "/" + site + "jsonlite/DESCRIPTION", License: "MIT"},
		"pkg:cran/dashboard@0.3.0":    {Path: "/srv/dashboard/DESCRIPTION"},
		"pkg:cran/translations@4.2.2": {Path: "/usr/lib/R/library/translations/DESCRIPTION", License: "Part of R 4.2.2"},
	} {
		if p := got[purl]; p.Path != want.Path || p.License != want.License {
			t.Errorf("%s: %+v, want %+v", purl, p, want)
		}
	}
	if _, ok := got["pkg:cran/praise@1.0.0"]; ok {
		t.Error("praise, removed by the last layer, is listed")
	}
	if w := doc.Warnings(); len(w) != 1 || !strings.Contains(w[0], "huge/DESCRIPTION") || !strings.Contains(w[0], "limit") {
		t.Errorf("warnings %q, want one about the DESCRIPTION over the limit", w)
	}
}

// TestBaseSBOMRAndLua: with a base SBOM of an image with R and Lua
// packages, only the new layer is read and the document lists what a full
// catalog lists: an R package the new layer removes and a rock whose
// rockspec it replaces are dropped from the base's, the new ones added.
func TestBaseSBOMRAndLua(t *testing.T) {
	base := append(rLayers(t, layer), luaLayers(t, layer)[0])
	baseDoc, err := Generate(t.Context(), image(t, base...), WithCreated(fixedTime))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := baseDoc.JSON()
	verified, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	const rocks = "usr/local/lib/luarocks/rocks-5.1/"
	img := image(t, append(base, layer(t,
		whiteout("usr/lib/R/site-library/.wh.mime"),
		file("usr/local/lib/R/site-library/jsonlite/DESCRIPTION", []byte("Package: jsonlite\nVersion: 1.8.8\n")),
		file(rocks+"lpeg/1.1.0-1/lpeg-1.1.0-1.rockspec", []byte("package = \"LPeg\"\nversion = \"1.1.0-1\"\ndescription = { license = \"MIT\" }\n")),
		file("app/shop-1.4.0-1.rockspec", testdata(t, "lua/shop-1.4.0-1.rockspec")),
	))...)
	var reads int
	layers, _ := img.Layers()
	for i := range base {
		layers[i] = countingLayer{layers[i], &reads}
	}
	reused, err := Generate(t.Context(), image(t, layers...), WithCreated(fixedTime), WithBaseSBOM(verified, len(base)))
	if err != nil {
		t.Fatal(err)
	}
	full, err := Generate(t.Context(), img, WithCreated(fixedTime))
	if err != nil {
		t.Fatal(err)
	}
	if reads != 0 || len(reused.Warnings()) != 0 {
		t.Errorf("base layers read %d times, warnings %q", reads, reused.Warnings())
	}
	if s, want := reused.Summary(), len(baseDoc.Packages())-2; s.FromBase != want {
		t.Errorf("%d packages from the base SBOM, want %d", s.FromBase, want)
	}
	assertSamePackages(t, reused, full)
}
