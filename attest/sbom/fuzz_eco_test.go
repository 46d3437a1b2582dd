package sbom

import (
	"bytes"
	"strings"
	"testing"
)

// Fuzz tests of the catalogers of R, pacman, Lua, Portage and Homebrew
// (fuzz_test.go says what every fuzz test checks).

func FuzzRDescription(f *testing.F) {
	f.Add([]byte("Package: glue\nVersion: 1.6.2\nAuthors@R: c(\n    person(\"Jim\")\n  )\nLicense: MIT + file LICENSE\n"))
	f.Add([]byte("Package: x\r\nVersion: 1\r\n\r\nLicense: GPL (>= 2) | LGPL(>=2.1) |\n  file LICENCE\n:\n \n"))
	f.Add([]byte("Package: a\n b\nVersion:\nVersion: 2\nLicense: |||\n"))
	for _, e := range tarEntries(f, "r/library.tar.gz") {
		if strings.HasSuffix(e.name, "/base64enc/DESCRIPTION") || strings.HasSuffix(e.name, "/base/DESCRIPTION") {
			f.Add(e.body)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, _ := parseRDescription(bytes.NewReader(b), int64(len(b)))
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || !strings.HasPrefix(p.PURL, "pkg:cran/") {
				t.Fatalf("package %+v", p)
			}
		}
	})
}

func FuzzAlpmDesc(f *testing.F) {
	f.Add(archPackages[9].descFile())
	f.Add([]byte("%NAME%\na\nb\n\n%VERSION%\r\n1:2-3\r\n\r\n%LICENSE%\nGPL\ncustom:x\n\n%\n\n\n%BASE%\n"))
	f.Add(archPackages[17].filesFile())
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, _ := parseAlpmDesc(bytes.NewReader(b))
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || len(p.Licenses) > maxAlpmLicenses {
				t.Fatalf("package %+v", p)
			}
			_ = p.purl(&osRelease{ID: "arch", VersionID: "rolling"})
			_ = validLicenseExpression(p.license())
		}
	})
}

func FuzzRockspec(f *testing.F) {
	f.Add(testdata(f, "lua/penlight-1.14.0-1.rockspec"))
	f.Add(testdata(f, "lua/luasocket-3.1.0-1.rockspec"))
	f.Add([]byte("--[==[ c ]==] local a, b = 'x\\z\n  y', [[\nz]]\npackage = a .. b; version = \"\\49\\x2e\\u{30}-1\"\ndescription = { license = (a), [1] = f{g\"h\"}:m(...) }\n"))
	f.Add([]byte("if a then local function f() repeat until x end end\nversion = - -#{} .. 1e-5 .. 0x1p+4\npackage = {{{((\"\"))}}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, _ := parseRockspec(bytes.NewReader(b), int64(len(b)))
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || !strings.HasPrefix(p.PURL, "pkg:luarocks/") {
				t.Fatalf("package %+v", p)
			}
		}
	})
}

// FuzzPortage names a package from a directory of Portage's database and
// reads a LICENSE file, both from the input.
func FuzzPortage(f *testing.F) {
	f.Add("sys-libs/glibc-2.39-r6", []byte("LGPL-2.1+ BSD HPND\n"))
	f.Add("dev-lang/rust-1.79.0_rc1_p2-r100", []byte("|| ( MIT Apache-2.0 ) BSD-1 test? ( @FREE )"))
	f.Add("a/b-c-1a_pre_p1", []byte("\n\t "))
	f.Fuzz(func(t *testing.T, dir string, license []byte) {
		if pkg, err := portageFromPath("/var/db/pkg/" + dir + "/CONTENTS"); err == nil {
			if pkg.Name == "" || pkg.Version == "" || !strings.HasPrefix(pkg.purl(), "pkg:ebuild/") {
				t.Fatalf("package %+v", pkg)
			}
		}
		if l, err := readPortageLicense(bytes.NewReader(license)); err == nil {
			_ = validLicenseExpression(l)
		}
	})
}

func FuzzKegFormula(f *testing.F) {
	f.Add(testdata(f, "homebrew/jq.rb"))
	f.Add(testdata(f, "homebrew/zstd.rb"))
	f.Add([]byte("name \"x\"\nclass X < Formula\n  name 'a\\'b'\n  version \"1\" # c\n  license any_of: [\"A\", 'B', :c]\n  license all_of: [\"A\",, \"B\"] # \"\nend\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, _ := parseKegFormula("/opt/homebrew/Cellar/x/1.0_1/.brew/x.rb", bytes.NewReader(b), int64(len(b)))
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || !strings.HasPrefix(p.PURL, "pkg:brew/") {
				t.Fatalf("package %+v", p)
			}
		}
	})
}
