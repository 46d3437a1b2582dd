package sbom

import (
	"strings"
	"testing"
)

func TestParseRockspec(t *testing.T) {
	tests := []parseCase{
		{"luasocket: a local function", string(testdata(t, "lua/luasocket-3.1.0-1.rockspec")), "pkg:luarocks/LuaSocket@3.1.0-1", "MIT", false},
		{"penlight: locals and concatenation", string(testdata(t, "lua/penlight-1.14.0-1.rockspec")), "pkg:luarocks/penlight@1.14.0-1", "MIT/X11", false},
		{"lua-cjson: comments in a table", string(testdata(t, "lua/lua-cjson-2.1.0.10-1.rockspec")), "pkg:luarocks/lua-cjson@2.1.0.10-1", "MIT", false},
		{"single quotes", "package = 'LPeg'\nversion = '1.1.0-1'\ndescription = { license = 'MIT/X11' }\n", "pkg:luarocks/LPeg@1.1.0-1", "MIT/X11", false},
		{"long strings and escapes", "package = [[a]]\nversion = [==[\n1.0-1]==]\ndescription = {license=\"M\\x49\\u{54}\\\n\"}", "pkg:luarocks/a@1.0-1", "MIT", false},
		{"semicolons and one line", "package=\"b\";version=\"2-1\";description={summary=\"x\";license=\"ISC\"}", "pkg:luarocks/b@2-1", "ISC", false},
		{"description from a variable", "local d = { license = \"MIT\" }\npackage = \"c\"\nversion = \"3-1\"\ndescription = d\n", "pkg:luarocks/c@3-1", "MIT", false},
		{"a later assignment wins", "package = \"a\"\nversion = \"1-1\"\npackage = \"b\"\n", "pkg:luarocks/b@1-1", "", false},
		{"globals and multiple locals", "local n, v = \"x\", \"4\"\nrev = \"2\"\npackage = n\nversion = v .. \"-\" .. rev\n", "pkg:luarocks/x@4-2", "", false},
		{"multiple globals", "package, version = \"y\", \"5-1\"\n", "pkg:luarocks/y@5-1", "", false},
		{"a field assignment is no variable", "package = \"z\"\nversion = \"6-1\"\nt.version, package = \"7\", \"w\"\n", "pkg:luarocks/w@6-1", "", false},
		{"build before package, block comment", "--[[ header\n]] build = { type = \"builtin\", modules = { foo = \"src/foo.lua\" } }\npackage = \"foo\"\nversion = \"1.0-1\"\n", "pkg:luarocks/foo@1.0-1", "", false},
		{"expressions are skipped", "local base = \"1.0\"\nlocal tag = base == \"scm\" and \"master\" or base\npackage = \"e\"\nversion = base .. \"-1\"\nsource = { tag = (base ~= \"dev\") and base or nil, n = #x + 1, f = g(\"h\", {1, 2}) }\n", "pkg:luarocks/e@1.0-1", "", false},
		{"control flow is skipped", "if x then package = \"no\" end\nfor i = 1, 2 do y = i end\nwhile false do end\nrepeat z = 1 until true\npackage = \"f\"\nversion = \"1-1\"\n", "pkg:luarocks/f@1-1", "", false},
		{"a version that is code", "package = \"g\"\nversion = get_version()\n", "", "", true},
		{"a number is no version", "package = \"g\"\nversion = 1.0\n", "", "", true},
		{"an unterminated string", "package = \"kon\n\n3.7.0-0\"\n", "", "", true},
		{"damage after the fields keeps them", "package = \"a\"\nversion = \"1\"\ndescription = [[ x", "pkg:luarocks/a@1", "", true},
		{"empty", "", "", "", true},
	}
	runParseCases(t, "luarocks", parseRockspec, tests)
}

// TestParseRockspecBounds: nesting, concatenation and size are bounded.
func TestParseRockspecBounds(t *testing.T) {
	deep := "package = \"a\"\nversion = \"1\"\nx = " + strings.Repeat("{", 10000) + "\n"
	if pkgs, err := parseRockspec(strings.NewReader(deep), int64(len(deep))); err == nil || !strings.Contains(err.Error(), "nests deeper") || len(pkgs) != 1 {
		t.Errorf("deep nesting: %+v, %v", pkgs, err)
	}
	double := "local a = \"xxxxxxxx\"\n" + strings.Repeat("a = a .. a\n", 64) + "package = a\nversion = \"1\"\n"
	if pkgs, err := parseRockspec(strings.NewReader(double), int64(len(double))); err == nil || len(pkgs) != 0 {
		t.Errorf("doubling: %+v, %v", pkgs, err)
	}
	chain := "package = \"a\"" + strings.Repeat(" .. \"\"", 100000) + "\nversion = \"1\"\n"
	if pkgs, err := parseRockspec(strings.NewReader(chain), int64(len(chain))); err != nil || len(pkgs) != 1 {
		t.Errorf("a long concatenation: %+v, %v", pkgs, err)
	}
	calls := "package = f" + strings.Repeat("\"x\"", 100000) + "\n"
	if _, err := parseRockspec(strings.NewReader(calls), int64(len(calls))); err == nil {
		t.Error("a chain of calls gave a package")
	}
	big := "package = \"a\"\nversion = \"1\"\n--" + strings.Repeat("x", maxRockspecBytes)
	if pkgs, err := parseRockspec(strings.NewReader(big), int64(len(big))); err == nil || len(pkgs) != 0 {
		t.Errorf("over the limit: %+v, %v", pkgs, err)
	}
}

// TestGenerateLua: the Lua fixture's rocks, found in the LuaRocks tree
// and the application; a rock removed by a later layer is not listed, a
// damaged rockspec is a warning.
func TestGenerateLua(t *testing.T) {
	const rocks = "usr/local/lib/luarocks/rocks-5.1/"
	layers := append(luaLayers(t, layer), layer(t,
		whiteout(rocks+"inspect/.wh.3.1.3-0"),
		file("opt/plugin/broken-0.1-1.rockspec", []byte("package = \"broken\nversion = \"0.1-1\"\n")),
	))
	doc, err := Generate(t.Context(), image(t, layers...))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Package{}
	for _, p := range doc.Packages() {
		got[p.PURL] = p
	}
	for purl, want := range map[string]Package{
		"pkg:luarocks/LuaSocket@3.1.0-1":       {Path: "/" + rocks + "luasocket/3.1.0-1/luasocket-3.1.0-1.rockspec", License: "MIT"},
		"pkg:luarocks/lua-resty-http@0.17.1-0": {Path: "/" + rocks + "lua-resty-http/0.17.1-0/lua-resty-http-0.17.1-0.rockspec", License: "2-clause BSD"},
		"pkg:luarocks/shop@1.4.0-1":            {Path: "/app/shop-1.4.0-1.rockspec", License: "Apache-2.0"},
	} {
		if p := got[purl]; p.Path != want.Path || p.License != want.License {
			t.Errorf("%s: %+v, want %+v", purl, p, want)
		}
	}
	if len(got) != len(luaRocks) { // less inspect, plus the application
		t.Errorf("%d packages, want %d: %v", len(got), len(luaRocks), got)
	}
	if _, ok := got["pkg:luarocks/inspect@3.1.3-0"]; ok {
		t.Error("inspect, removed by the last layer, is listed")
	}
	if w := doc.Warnings(); len(w) != 1 || !strings.Contains(w[0], "broken-0.1-1.rockspec") || !strings.Contains(w[0], "unterminated string") {
		t.Errorf("warnings %q, want one about the damaged rockspec", w)
	}
}
