package sbom

import (
	"slices"
	"strings"
	"testing"
)

func TestParseKegFormula(t *testing.T) {
	const keg = "/home/linuxbrew/.linuxbrew/Cellar/"
	tests := []struct {
		name, path, in        string
		wantPURL, wantLicense string
	}{
		{"homebrew-core formula", keg + "jq/1.7.1/.brew/jq.rb", string(testdata(t, "homebrew/jq.rb")), "pkg:brew/jq@1.7.1", "MIT"},
		{"a revision, a license list over lines", keg + "xz/5.6.2_1/.brew/xz.rb", string(testdata(t, "homebrew/xz.rb")), "pkg:brew/xz@5.6.2_1", ""},
		{"any_of", keg + "zstd/1.5.6/.brew/zstd.rb", string(testdata(t, "homebrew/zstd.rb")), "pkg:brew/zstd@1.5.6", "BSD-3-Clause OR GPL-2.0-only"},
		{"versioned formula", "/opt/homebrew/Cellar/openssl@3/3.3.1/.brew/openssl@3.rb", string(testdata(t, "homebrew/openssl@3.rb")), "pkg:brew/openssl%403@3.3.1", "Apache-2.0"},
		{"all_of, a comment", keg + "a/1/.brew/a.rb", "class A < Formula\n  license all_of: [\"MIT\", 'GPL-2.0-only WITH x'] # two\nend\n", "pkg:brew/a@1", "MIT AND (GPL-2.0-only WITH x)"},
		{"a symbol is kept as written", keg + "b/2/.brew/b.rb", "class B < Formula\n  license :public_domain\nend\n", "pkg:brew/b@2", ":public_domain"},
		{"an exception is kept as written", keg + "c/3/.brew/c.rb", "class C < Formula\n  license \"GPL-2.0-only\" => { with: \"LLVM-exception\" }\nend\n", "pkg:brew/c@3", "\"GPL-2.0-only\" => { with: \"LLVM-exception\" }"},
		{"name and version lines win", keg + "d/4/.brew/d.rb", "class D < Formula\n  name \"dee\"\n  version \"4.1\"\nend\n", "pkg:brew/dee@4.1", ""},
		{"a version line alone does not", keg + "e/5/.brew/e.rb", "class E < Formula\n  url \"x\"\n  version \"5.0\"\nend\n", "pkg:brew/e@5", ""},
		{"the class line resets", keg + "f/6/.brew/f.rb", "name \"x\"\nversion \"9\"\nlicense \"MIT\"\nclass F < Formula\nend\n", "pkg:brew/f@6", ""},
		{"not Ruby", keg + "g/7/.brew/g.rb", "\x00\xff\n", "pkg:brew/g@7", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkgs, err := parseKegFormula(tt.path, strings.NewReader(tt.in), int64(len(tt.in)))
			if err != nil || len(pkgs) != 1 || pkgs[0].PURL != tt.wantPURL || pkgs[0].License != tt.wantLicense || pkgs[0].Type != "brew" {
				t.Errorf("packages %+v, %v; want %s (%q)", pkgs, err, tt.wantPURL, tt.wantLicense)
			}
		})
	}
}

func TestIsKegFormula(t *testing.T) {
	for p, want := range map[string]bool{
		"/home/linuxbrew/.linuxbrew/Cellar/jq/1.7.1/.brew/jq.rb":                                       true,
		"/opt/homebrew/Cellar/openssl@3/3.3.1/.brew/openssl@3.rb":                                      true,
		"/usr/local/Cellar/x/1/.brew/other.rb":                                                         true,
		"/home/linuxbrew/.linuxbrew/Cellar/jq/1.7.1/.brew/jq.rb.bak":                                   false,
		"/home/linuxbrew/.linuxbrew/Cellar/jq/1.7.1/lib/ruby/x.rb":                                     false,
		"/home/linuxbrew/.linuxbrew/Cellar/jq/.brew/jq.rb":                                             false,
		"/home/linuxbrew/.linuxbrew/Homebrew/Library/Taps/hashicorp/homebrew-tap/Formula/terraform.rb": false, // a tap: not installed
	} {
		if got := isKegFormula(p); got != want {
			t.Errorf("isKegFormula(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestGenerateHomebrew: the kegs of the Homebrew fixture; a keg removed
// by a later layer (brew uninstall) is not listed, a formula over the
// limit is a warning.
func TestGenerateHomebrew(t *testing.T) {
	const cellar = "home/linuxbrew/.linuxbrew/Cellar/"
	layers := append(homebrewLayers(t, layer), layer(t,
		whiteout(cellar+".wh.lz4"),
		file(cellar+"big/1.0/.brew/big.rb", []byte(strings.Repeat("#", maxFormulaBytes+1))),
		file("home/linuxbrew/.linuxbrew/Homebrew/Library/Taps/hashicorp/homebrew-tap/Formula/terraform.rb", []byte("class Terraform < Formula\n  version \"1.8.5\"\nend\n")),
	))
	doc, err := Generate(t.Context(), image(t, layers...))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range doc.Packages() {
		got = append(got, p.PURL+" "+p.Path)
	}
	want := []string{
		"pkg:brew/ca-certificates@2024-07-02 /" + cellar + "ca-certificates/2024-07-02/.brew/ca-certificates.rb",
		"pkg:brew/jq@1.7.1 /" + cellar + "jq/1.7.1/.brew/jq.rb",
		"pkg:brew/oniguruma@6.9.9 /" + cellar + "oniguruma/6.9.9/.brew/oniguruma.rb",
		"pkg:brew/openssl%403@3.3.1 /" + cellar + "openssl@3/3.3.1/.brew/openssl@3.rb",
		"pkg:brew/xz@5.6.2_1 /" + cellar + "xz/5.6.2_1/.brew/xz.rb",
		"pkg:brew/zstd@1.5.6 /" + cellar + "zstd/1.5.6/.brew/zstd.rb",
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("packages\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if w := doc.Warnings(); len(w) != 1 || !strings.Contains(w[0], "big/1.0/.brew/big.rb") || !strings.Contains(w[0], "limit") {
		t.Errorf("warnings %q, want one about the formula over the limit", w)
	}
}
