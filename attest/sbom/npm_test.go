package sbom

import (
	"strings"
	"testing"
)

func TestParsePackageJSON(t *testing.T) {
	tests := []parseCase{
		{"plain", `{"name":"express","version":"4.21.2","license":"MIT","readme":"…"}`, "pkg:npm/express@4.21.2", "MIT", false},
		{"scoped", `{"name":"@babel/core","version":"7.26.0","license":{"type":"MIT","url":"x"}}`, "pkg:npm/%40babel/core@7.26.0", "MIT", false},
		{"licenses list", `{"name":"old","version":"0.1.0","licenses":[{"type":"MIT"},{"type":"Apache-2.0"}]}`, "pkg:npm/old@0.1.0", "MIT OR Apache-2.0", false},
		{"licenses list with an expression", `{"name":"x","version":"1.0.0","licenses":["MIT",{"type":"GPL-2.0 WITH Classpath-exception-2.0"}]}`, "pkg:npm/x@1.0.0", "MIT OR (GPL-2.0 WITH Classpath-exception-2.0)", false},
		{"prerelease", `{"name":"y","version":"2.0.0-rc.1+build.5"}`, "pkg:npm/y@2.0.0-rc.1%2Bbuild.5", "", false},
		{"a marker, not a package", `{"type":"module"}`, "", "", false},
		{"no version: the application", `{"name":"my-app","private":true}`, "pkg:npm/my-app", "", false},
		{"no name", `{"version":"1.0.0","license":"MIT"}`, "", "", false},
		{"bad scope", `{"name":"@a/b/c","version":"1.0.0"}`, "", "", true},
		{"not JSON", `module.exports = {}`, "", "", true},
		{"wrong types", `{"name":1,"version":[]}`, "", "", true},
	}
	runParseCases(t, "npm", parsePackageJSON, tests)
}

// TestGenerateNPM: nested and scoped node_modules and the application's
// own package.json (versioned or not) are cataloged; a removed package and a package.json over
// the limit are not, the latter with a warning.
func TestGenerateNPM(t *testing.T) {
	nm := "app/node_modules/"
	img := image(t,
		layer(t,
			file("app/package.json", []byte(`{"name":"shop","version":"1.2.3"}`)),
			file("srv/package.json", []byte(`{"name":"admin","private":true}`)),
			file(nm+"express/package.json", []byte(`{"name":"express","version":"4.21.2","license":"MIT"}`)),
			file(nm+"express/node_modules/debug/package.json", []byte(`{"name":"debug","version":"2.6.9"}`)),
			file(nm+"@types/node/package.json", []byte(`{"name":"@types/node","version":"22.10.2"}`)),
			file(nm+"esm-thing/dist/esm/package.json", []byte(`{"type":"module"}`)),
			file(nm+"gone/package.json", []byte(`{"name":"gone","version":"1.0.0"}`)),
			file(nm+"huge/package.json", []byte(`{"name":"huge","version":"1.0.0","readme":"`+strings.Repeat("x", maxPackageJSONBytes)+`"}`)),
		),
		layer(t, whiteout(nm+".wh.gone")),
	)
	doc, err := Generate(t.Context(), img)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range doc.Packages() {
		got[p.PURL] = p.Path
	}
	want := map[string]string{
		"pkg:npm/shop@1.2.3":            "/app/package.json",
		"pkg:npm/admin":                 "/srv/package.json",
		"pkg:npm/express@4.21.2":        "/" + nm + "express/package.json",
		"pkg:npm/debug@2.6.9":           "/" + nm + "express/node_modules/debug/package.json",
		"pkg:npm/%40types/node@22.10.2": "/" + nm + "@types/node/package.json",
	}
	if len(got) != len(want) {
		t.Errorf("packages %v, want %v", got, want)
	}
	for purl, w := range want {
		if got[purl] != w {
			t.Errorf("%s: %q, want %q", purl, got[purl], w)
		}
	}
	if w := doc.Warnings(); len(w) != 1 || !strings.Contains(w[0], "huge/package.json") || !strings.Contains(w[0], "limit") {
		t.Errorf("warnings %q, want one about the package.json over the limit", w)
	}
}
