package sbom

import (
	"path"
	"slices"
	"strings"
	"testing"
)

func TestParseAlpmDesc(t *testing.T) {
	tests := []struct {
		name, in string
		want     *alpmPackage
		wantErr  bool
	}{
		{"pacman's desc", string(archPackages[9].descFile()), &alpmPackage{"gcc-libs", "14.1.1+r58+gfc9fb69ad62-1", "gcc", "x86_64", []string{"GPL-3.0-with-GCC-exception", "GFDL-1.3-or-later"}}, false},
		{"the first line of a value", "%NAME%\na\nb\n\n%VERSION%\n1-1\n\n%ARCH%\nany\nx86_64\n", &alpmPackage{Name: "a", Version: "1-1", Arch: "any"}, false},
		{"keys in any case, an empty section", "%name%\na\n\n%DESC%\n\n\n%Version%\n2-1\n\n%BASE%\nb\n", &alpmPackage{Name: "a", Version: "2-1", Base: "b"}, false},
		{"CRLF and blanks", "%NAME%\r\n a \r\n\r\n%VERSION%\r\n1-1\r\n", &alpmPackage{Name: "a", Version: "1-1"}, false},
		{"an unknown section", "%NAME%\na\n\n%XDATA%\npkgtype=pkg\n\n%VERSION%\n3-1\n", &alpmPackage{Name: "a", Version: "3-1"}, false},
		{"no version", "%NAME%\na\n\n%DESC%\nb\n", nil, true},
		{"a files file", "%FILES%\netc/\netc/pacman.conf\n\n%BACKUP%\netc/pacman.conf\tde54\n", nil, true},
		{"empty", "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkgs, err := parseAlpmDesc(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Errorf("error = %v, want error %v", err, tt.wantErr)
			}
			if tt.want == nil {
				if len(pkgs) != 0 {
					t.Errorf("packages %+v, want none", pkgs)
				}
				return
			}
			if len(pkgs) != 1 || pkgs[0].Name != tt.want.Name || pkgs[0].Version != tt.want.Version || pkgs[0].Base != tt.want.Base ||
				pkgs[0].Arch != tt.want.Arch || !slices.Equal(pkgs[0].Licenses, tt.want.Licenses) {
				t.Errorf("packages %+v, want %+v", pkgs, *tt.want)
			}
		})
	}
}

func TestAlpmPURLAndLicense(t *testing.T) {
	p := alpmPackage{Name: "systemd-libs", Version: "255.7-1", Base: "systemd", Arch: "x86_64", Licenses: []string{"LGPL-2.1-or-later", "GPL-2.0-or-later WITH Linux-syscall-note"}}
	for _, tt := range []struct {
		rel  *osRelease
		want string
	}{
		{&osRelease{ID: "arch", VersionID: "rolling"}, "pkg:alpm/arch/systemd-libs@255.7-1?arch=x86_64&distro=arch-rolling&upstream=systemd"},
		{&osRelease{ID: "manjaro", VersionID: "24.0"}, "pkg:alpm/manjaro/systemd-libs@255.7-1?arch=x86_64&distro=manjaro-24.0&upstream=systemd"},
		{nil, "pkg:alpm/arch/systemd-libs@255.7-1?arch=x86_64&upstream=systemd"},
	} {
		if got := p.purl(tt.rel); got != tt.want {
			t.Errorf("purl(%+v) = %s, want %s", tt.rel, got, tt.want)
		}
	}
	same := alpmPackage{Name: "zlib", Version: "1:1.3.1-1", Base: "zlib", Arch: "x86_64"}
	if got, want := same.purl(&osRelease{ID: "arch", VersionID: "rolling"}), "pkg:alpm/arch/zlib@1:1.3.1-1?arch=x86_64&distro=arch-rolling&upstream=zlib"; got != want {
		t.Errorf("purl = %s, want %s (upstream even when it is the name, as syft writes it)", got, want)
	}
	if got, want := p.license(), "LGPL-2.1-or-later AND (GPL-2.0-or-later WITH Linux-syscall-note)"; got != want {
		t.Errorf("license = %q, want %q", got, want)
	}
}

func TestIsAlpmDesc(t *testing.T) {
	for p, want := range map[string]bool{
		"/var/lib/pacman/local/gmp-6.2.1-2/desc":        true,
		"/var/lib/pacman/local/gmp-6.2.1-2/files":       false,
		"/var/lib/pacman/local/desc":                    false,
		"/var/lib/pacman/local/a/b/desc":                false,
		"/var/lib/pacman/sync/core.db":                  false,
		"/chroot/var/lib/pacman/local/gmp-6.2.1-2/desc": false, // not the image's own database
	} {
		dir, base := path.Split(p)
		if got := isAlpmDesc(dir, base); got != want {
			t.Errorf("isAlpmDesc(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestGenerateArch: the Arch fixture's packages with Arch's purls (the
// distro from os-release's BUILD_ID), bash as upgraded by the second
// layer; a damaged desc is a warning, and a base SBOM of the first layer
// gives the same document as a full catalog, its distro coming from the
// base SBOM when no later layer has os-release.
func TestGenerateArch(t *testing.T) {
	layers := append(archLayers(t, layer), layer(t,
		file("var/lib/pacman/local/broken-1-1/desc", []byte("%NAME%\nbroken\n")),
		file("var/lib/pacman/local/which-2.21-6/desc", alpmDesc{"which", "2.21-6", "which", "x86_64", []string{"GPL-3.0-only"}, nil}.descFile()),
		whiteout("var/lib/pacman/local/.wh.xz-5.6.1-3"),
	))
	img := image(t, layers...)
	doc, err := Generate(t.Context(), img, WithCreated(fixedTime))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Package{}
	for _, p := range doc.Packages() {
		got[p.PURL] = p
	}
	if n := doc.Summary().ByType["alpm"]; n != len(archPackages) { // less xz, plus which
		t.Errorf("%d alpm packages, want %d", n, len(archPackages))
	}
	for purl, want := range map[string]Package{
		"pkg:alpm/arch/bash@5.2.032-1?arch=x86_64&distro=arch-rolling&upstream=bash":                 {Path: "/var/lib/pacman/local/bash-5.2.032-1/desc", License: "GPL-3.0-or-later"},
		"pkg:alpm/arch/zlib@1:1.3.1-1?arch=x86_64&distro=arch-rolling&upstream=zlib":                 {Path: "/var/lib/pacman/local/zlib-1:1.3.1-1/desc", License: "Zlib"},
		"pkg:alpm/arch/ca-certificates-mozilla@3.100-1?arch=x86_64&distro=arch-rolling&upstream=nss": {Path: "/var/lib/pacman/local/ca-certificates-mozilla-3.100-1/desc", License: "MPL-2.0"},
		"pkg:alpm/arch/which@2.21-6?arch=x86_64&distro=arch-rolling&upstream=which":                  {Path: "/var/lib/pacman/local/which-2.21-6/desc", License: "GPL-3.0-only"},
		"pkg:alpm/arch/iana-etc@20240502-1?arch=any&distro=arch-rolling&upstream=iana-etc":           {Path: "/var/lib/pacman/local/iana-etc-20240502-1/desc", License: "custom:none"},
	} {
		if p := got[purl]; p.Path != want.Path || p.License != want.License {
			t.Errorf("%s: %+v, want %+v", purl, p, want)
		}
	}
	for purl := range got {
		if strings.Contains(purl, "/bash@5.2.026") || strings.Contains(purl, "/xz@") {
			t.Errorf("%s is listed, but a later layer replaced or removed it", purl)
		}
	}
	if w := doc.Warnings(); len(w) != 1 || !strings.Contains(w[0], "broken-1-1/desc") || !strings.Contains(w[0], "no %VERSION%") {
		t.Errorf("warnings %q, want one about the damaged desc", w)
	}

	// The base SBOM of the first layer: the distro comes from it.
	baseDoc, err := Generate(t.Context(), image(t, layers[0]), WithCreated(fixedTime))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := baseDoc.JSON()
	verified, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	reused, err := Generate(t.Context(), img, WithCreated(fixedTime), WithBaseSBOM(verified, 1))
	if err != nil {
		t.Fatal(err)
	}
	if s := reused.Summary(); s.FromBase != len(archPackages)-2 { // less bash and xz
		t.Errorf("%d packages from the base SBOM, want %d", s.FromBase, len(archPackages)-2)
	}
	assertSamePackages(t, reused, doc)
}

// assertSamePackages checks that a document made with a base SBOM lists
// the packages of a full catalog.
func assertSamePackages(t *testing.T, reused, full *Document) {
	t.Helper()
	got, want := reused.Packages(), full.Packages()
	if len(got) != len(want) {
		t.Fatalf("%d packages with the base SBOM, %d without", len(got), len(want))
	}
	for i := range got {
		got[i].FromBase = ""
		if got[i] != want[i] {
			t.Errorf("package %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
