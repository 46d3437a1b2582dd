package sbom

import (
	"path"
	"strings"
	"testing"
)

func TestPortageFromPath(t *testing.T) {
	for p, want := range map[string]string{
		"/var/db/pkg/app-containers/skopeo-1.5.1/CONTENTS":      "pkg:ebuild/app-containers%2Fskopeo@1.5.1",
		"/var/db/pkg/sys-libs/glibc-2.39-r6/CONTENTS":           "pkg:ebuild/sys-libs%2Fglibc@2.39-r6",
		"/var/db/pkg/app-shells/bash-5.2_p26/CONTENTS":          "pkg:ebuild/app-shells%2Fbash@5.2_p26",
		"/var/db/pkg/dev-libs/libxml2-2.12.7/CONTENTS":          "pkg:ebuild/dev-libs%2Flibxml2@2.12.7",
		"/var/db/pkg/media-libs/libjpeg-turbo-3.0.2/CONTENTS":   "pkg:ebuild/media-libs%2Flibjpeg-turbo@3.0.2",
		"/var/db/pkg/x11-libs/gtk+-3.24.41/CONTENTS":            "pkg:ebuild/x11-libs%2Fgtk%2B@3.24.41",
		"/var/db/pkg/sys-libs/timezone-data-2024a/CONTENTS":     "pkg:ebuild/sys-libs%2Ftimezone-data@2024a",
		"/var/db/pkg/dev-lang/rust-1.79.0_rc1_p2-r100/CONTENTS": "pkg:ebuild/dev-lang%2Frust@1.79.0_rc1_p2-r100",
		"/var/db/pkg/virtual/libc-1-r1/CONTENTS":                "pkg:ebuild/virtual%2Flibc@1-r1",
		"/var/db/pkg/app-misc/no-version/CONTENTS":              "",
		"/var/db/pkg/app-misc/foo-1.0-beta/CONTENTS":            "",
		"/var/db/pkg/app-misc/-1.0/CONTENTS":                    "",
	} {
		pkg, err := portageFromPath(p)
		if want == "" {
			if err == nil {
				t.Errorf("%s: %+v, want an error", p, pkg)
			}
			continue
		}
		if got := pkg.purl(); err != nil || got != want {
			t.Errorf("%s: %s, %v; want %s", p, got, err, want)
		}
	}
}

func TestPortageFileOf(t *testing.T) {
	for p, want := range map[string]string{
		"/var/db/pkg/sys-libs/glibc-2.39-r6/CONTENTS":  "CONTENTS",
		"/var/db/pkg/sys-libs/glibc-2.39-r6/LICENSE":   "LICENSE",
		"/var/db/pkg/sys-libs/glibc-2.39-r6/SIZE":      "",
		"/var/db/pkg/sys-libs/CONTENTS":                "",
		"/var/db/pkg/a/b/c/CONTENTS":                   "",
		"/gentoo/var/db/pkg/sys-libs/glibc-2/CONTENTS": "", // not the image's own database
	} {
		dir, base := path.Split(p)
		if got := portageFileOf(dir, base); got != want {
			t.Errorf("portageFileOf(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestReadPortageLicense(t *testing.T) {
	for in, want := range map[string]string{
		"GPL-2\n":                         "GPL-2",
		"LGPL-2.1+  BSD\tHPND\n":          "LGPL-2.1+ AND BSD AND HPND",
		"|| ( Artistic GPL-1+ )\n":        "|| ( Artistic GPL-1+ )",
		"BSD curl ISC test? ( BSD-4 )\n":  "BSD curl ISC test? ( BSD-4 )",
		"@BINARY-REDISTRIBUTABLE GPL-2\n": "@BINARY-REDISTRIBUTABLE GPL-2",
		"\n":                              "",
	} {
		if got, err := readPortageLicense(strings.NewReader(in)); err != nil || got != want {
			t.Errorf("readPortageLicense(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := readPortageLicense(strings.NewReader(strings.Repeat("x ", maxPortageLicenseBytes))); err == nil {
		t.Error("a LICENSE over the limit was read")
	}
}

// TestGenerateGentoo: the Gentoo fixture's packages, curl as upgraded by
// the second layer, each with its LICENSE; a directory that names no
// version is a warning, a removed package is not listed, and a base SBOM
// of the first layer gives the same document as a full catalog.
func TestGenerateGentoo(t *testing.T) {
	layers := append(gentooLayers(t, layer), layer(t,
		append(portageEntries("app-misc", "jq-1.7.1-r1", "MIT CC-BY-3.0", "A lightweight and flexible command-line JSON processor"),
			file("var/db/pkg/app-misc/broken/CONTENTS", []byte("dir /usr\n")),
			whiteout("var/db/pkg/dev-lang/.wh.perl-5.38.2-r3"))...,
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
	if n := doc.Summary().ByType["ebuild"]; n != len(gentooPackages) || len(got) != n { // less perl, plus jq
		t.Errorf("%d ebuild packages, want %d; %d in all", n, len(gentooPackages), len(got))
	}
	for purl, want := range map[string]Package{
		"pkg:ebuild/net-misc%2Fcurl@8.8.0":          {Path: "/var/db/pkg/net-misc/curl-8.8.0/CONTENTS", License: "BSD curl ISC test? ( BSD-4 )"},
		"pkg:ebuild/sys-libs%2Fglibc@2.39-r6":       {Path: "/var/db/pkg/sys-libs/glibc-2.39-r6/CONTENTS", License: "LGPL-2.1+ AND BSD AND HPND AND ISC AND inner-net AND rc AND PCRE"},
		"pkg:ebuild/app-misc%2Fjq@1.7.1-r1":         {Path: "/var/db/pkg/app-misc/jq-1.7.1-r1/CONTENTS", License: "MIT AND CC-BY-3.0"},
		"pkg:ebuild/virtual%2Flibc@1-r1":            {Path: "/var/db/pkg/virtual/libc-1-r1/CONTENTS"},
		"pkg:ebuild/sys-libs%2Ftimezone-data@2024a": {Path: "/var/db/pkg/sys-libs/timezone-data-2024a/CONTENTS", License: "BSD AND public-domain"},
	} {
		if p := got[purl]; p.Path != want.Path || p.License != want.License {
			t.Errorf("%s: %+v, want %+v", purl, p, want)
		}
	}
	if p := got["pkg:ebuild/sys-libs%2Fglibc@2.39-r6"]; p.Name != "sys-libs/glibc" || p.Version != "2.39-r6" {
		t.Errorf("glibc is %q %q", p.Name, p.Version)
	}
	if w := doc.Warnings(); len(w) != 1 || !strings.Contains(w[0], "app-misc/broken/CONTENTS") {
		t.Errorf("warnings %q, want one about the directory without a version", w)
	}

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
	if s := reused.Summary(); s.FromBase != len(gentooPackages)-2 { // less curl and perl
		t.Errorf("%d packages from the base SBOM, want %d", s.FromBase, len(gentooPackages)-2)
	}
	assertSamePackages(t, reused, doc)
}
