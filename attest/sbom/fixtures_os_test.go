package sbom

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The Arch Linux and Gentoo fixtures are written by the tests in the
// on-disk formats of pacman and Portage (no package of either is
// reachable from where they were made); testdata/README.md says where
// the formats come from.

// alpmDesc is one package of the Arch Linux fixture: what its desc file
// says.
type alpmDesc struct {
	name, version, base, arch string
	licenses                  []string
	files                     []string // the package's files file, if any
}

// archPackages are packages of an Arch Linux base image (pacman -Q of
// archlinux:base, mid-2024): names, versions with their package release
// (zlib has an epoch), package bases, architectures and licenses as Arch
// records them (SPDX identifiers in new packages, old names in others).
var archPackages = []alpmDesc{
	{"acl", "2.3.2-1", "acl", "x86_64", []string{"LGPL-2.1-or-later"}, nil},
	{"archlinux-keyring", "20240520-1", "archlinux-keyring", "any", []string{"GPL-3.0-or-later"}, nil},
	{"attr", "2.5.2-1", "attr", "x86_64", []string{"LGPL-2.1-or-later"}, nil},
	{"bash", "5.2.026-2", "bash", "x86_64", []string{"GPL-3.0-or-later"}, []string{"usr/bin/bash", "usr/bin/sh"}},
	{"bzip2", "1.0.8-6", "bzip2", "x86_64", []string{"BSD-3-Clause"}, nil},
	{"ca-certificates-mozilla", "3.100-1", "nss", "x86_64", []string{"MPL-2.0"}, nil},
	{"coreutils", "9.5-1", "coreutils", "x86_64", []string{"GPL-3.0-or-later"}, nil},
	{"curl", "8.8.0-1", "curl", "x86_64", []string{"MIT"}, nil},
	{"filesystem", "2024.04.07-1", "filesystem", "any", []string{"GPL-3.0-only"}, []string{"etc/os-release", "usr/lib/os-release"}},
	{"gcc-libs", "14.1.1+r58+gfc9fb69ad62-1", "gcc", "x86_64", []string{"GPL-3.0-with-GCC-exception", "GFDL-1.3-or-later"}, nil},
	{"glibc", "2.39+r52+gf8e4623421-1", "glibc", "x86_64", []string{"GPL-2.0-or-later", "LGPL-2.1-or-later"}, nil},
	{"gpgme", "1.23.2-3", "gpgme", "x86_64", []string{"LGPL-2.1-or-later"}, nil},
	{"iana-etc", "20240502-1", "iana-etc", "any", []string{"custom:none"}, nil},
	{"libarchive", "3.7.4-1", "libarchive", "x86_64", []string{"BSD-2-Clause"}, nil},
	{"libcap", "2.70-1", "libcap", "x86_64", []string{"GPL-2.0-only"}, nil},
	{"ncurses", "6.5-3", "ncurses", "x86_64", []string{"MIT-open-group"}, nil},
	{"openssl", "3.3.0-1", "openssl", "x86_64", []string{"Apache-2.0"}, nil},
	{"pacman", "6.1.0-3", "pacman", "x86_64", []string{"GPL-2.0-or-later"}, []string{"etc/makepkg.conf", "etc/pacman.conf", "usr/bin/pacman"}},
	{"readline", "8.2.010-1", "readline", "x86_64", []string{"GPL-3.0-or-later"}, nil},
	{"sqlite", "3.45.3-1", "sqlite", "x86_64", []string{"LicenseRef-Sqlite"}, nil},
	{"systemd-libs", "255.7-1", "systemd", "x86_64", []string{"LGPL-2.1-or-later", "CC0-1.0"}, nil},
	{"tzdata", "2024a-2", "tzdata", "x86_64", []string{"LicenseRef-Public-Domain"}, nil},
	{"util-linux-libs", "2.40.1-1", "util-linux", "x86_64", []string{"BSD-2-Clause", "BSD-3-Clause", "LGPL-2.1-or-later"}, nil},
	{"xz", "5.6.1-3", "xz", "x86_64", []string{"GPL", "LGPL", "custom"}, nil},
	{"zlib", "1:1.3.1-1", "zlib", "x86_64", []string{"Zlib"}, nil},
}

// archOSRelease is Arch Linux's os-release: a rolling release, with a
// BUILD_ID and no VERSION_ID.
const archOSRelease = `NAME="Arch Linux"
PRETTY_NAME="Arch Linux"
ID=arch
BUILD_ID=rolling
ANSI_COLOR="38;2;23;147;209"
HOME_URL="https://archlinux.org/"
DOCUMENTATION_URL="https://wiki.archlinux.org/"
SUPPORT_URL="https://bbs.archlinux.org/"
BUG_REPORT_URL="https://gitlab.archlinux.org/groups/archlinux/-/issues"
PRIVACY_POLICY_URL="https://terms.archlinux.org/docs/privacy-policy/"
LOGO=archlinux-logo
`

// descFile writes a package's desc file as pacman 6.1 does.
func (d alpmDesc) descFile() []byte {
	var b strings.Builder
	section := func(key string, values ...string) {
		fmt.Fprintf(&b, "%%%s%%\n%s\n\n", key, strings.Join(values, "\n"))
	}
	section("NAME", d.name)
	section("VERSION", d.version)
	section("BASE", d.base)
	section("DESC", "The "+d.name+" package")
	section("URL", "https://archlinux.org/packages/core/"+d.arch+"/"+d.name+"/")
	section("ARCH", d.arch)
	section("BUILDDATE", "1716500000")
	section("INSTALLDATE", "1716900000")
	section("PACKAGER", "Arch Packager <packager@archlinux.org>")
	section("SIZE", "1048576")
	if d.name != "pacman" && d.name != "filesystem" {
		section("REASON", "1")
	}
	section("LICENSE", d.licenses...)
	section("VALIDATION", "pgp")
	section("DEPENDS", "glibc", "sh")
	section("XDATA", "pkgtype=pkg")
	return []byte(b.String())
}

// filesFile writes a package's files file (%FILES% and, for pacman's
// configuration, %BACKUP%).
func (d alpmDesc) filesFile() []byte {
	b := "%FILES%\n" + strings.Join(d.files, "\n") + "\n\n"
	if d.name == "pacman" {
		b += "%BACKUP%\netc/pacman.conf\tde541390e52468165b96511c4665bff4\netc/makepkg.conf\t79fce043df7dfc676ae5ecb903762d8b\n\n"
	}
	return []byte(b)
}

// mtreeFile writes a package's gzip-compressed mtree, as pacman keeps it.
func (d alpmDesc) mtreeFile(t testing.TB) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	fmt.Fprintf(zw, "#mtree\n/set type=file uid=0 gid=0 mode=644\n./.BUILDINFO time=1716500000.0 size=5000 md5digest=5f3b4d2c8e5d0f8c3b4d2c8e5d0f8c3b sha256digest=%s\n", strings.Repeat("ab", 32))
	for _, f := range d.files {
		fmt.Fprintf(zw, "./%s time=1716500000.0 size=1024 md5digest=%s sha256digest=%s\n", f, strings.Repeat("cd", 16), strings.Repeat("ef", 32))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// archLayers are an Arch Linux base image: os-release, pacman's local
// database (desc of every package, files and mtree of some) and, in a
// second layer, the database after `pacman -S bash` upgraded bash.
func archLayers(t testing.TB, layer layerFunc) []v1.Layer {
	const local = "var/lib/pacman/local/"
	entries := []entry{
		dir("etc"), {name: "etc/os-release", typ: tar.TypeSymlink, link: "../usr/lib/os-release"},
		dir("usr"), dir("usr/lib"), file("usr/lib/os-release", []byte(archOSRelease)),
		dir("var"), dir("var/lib"), dir("var/lib/pacman"), dir("var/lib/pacman/local"),
		file(local+"ALPM_DB_VERSION", []byte("9\n")),
	}
	for _, d := range archPackages {
		p := local + d.name + "-" + d.version + "/"
		entries = append(entries, dir(strings.TrimSuffix(p, "/")), file(p+"desc", d.descFile()))
		if d.files != nil {
			entries = append(entries, file(p+"files", d.filesFile()), file(p+"mtree", d.mtreeFile(t)))
		}
	}
	old := archPackages[3] // bash
	upgraded := alpmDesc{"bash", "5.2.032-1", "bash", "x86_64", []string{"GPL-3.0-or-later"}, old.files}
	p := local + "bash-5.2.032-1/"
	return []v1.Layer{
		layer(t, entries...),
		layer(t, whiteout(local+".wh.bash-"+old.version), dir(strings.TrimSuffix(p, "/")),
			file(p+"desc", upgraded.descFile()), file(p+"files", upgraded.filesFile()), file(p+"mtree", upgraded.mtreeFile(t))),
	}
}

// gentooPackages are packages of a Gentoo stage3 (amd64, OpenRC, mid-2024):
// category/name-version as Portage names their directories (revisions,
// _p and _rc suffixes, a letter version, a dated version) and the LICENSE
// of each ebuild (plain lists, || choices, USE conditions, an empty one).
var gentooPackages = []struct{ cpv, license, description string }{
	{"app-arch/xz-utils-5.4.6", "public-domain LGPL-2.1+ GPL-2+", "Utils for managing LZMA compressed files"},
	{"app-misc/ca-certificates-20240203.3.98", "MPL-1.1", "Common CA certificates PEM files"},
	{"app-shells/bash-5.2_p26", "GPL-3+", "The standard GNU Bourne again shell"},
	{"dev-lang/perl-5.38.2-r3", "|| ( Artistic GPL-1+ )", "Larry Wall's Practical Extraction and Report Language"},
	{"dev-lang/python-3.12.3-r1", "PSF-2", "An interpreted, interactive, object-oriented programming language"},
	{"dev-libs/libpcre2-10.42-r2", "BSD", "Perl-compatible regular expression library"},
	{"dev-libs/libxml2-2.12.7", "MIT", "XML C parser and toolkit"},
	{"dev-libs/openssl-3.2.2", "Apache-2.0", "Robust, full-featured Open Source Toolkit for the Transport Layer Security (TLS)"},
	{"net-misc/curl-8.7.1-r4", "BSD curl ISC test? ( BSD-4 )", "A Client that groks URLs"},
	{"net-misc/openssh-9.7_p1-r6", "BSD GPL-2", "Port of OpenBSD's free SSH release"},
	{"sys-apps/coreutils-9.5", "GPL-3+", "Standard GNU utilities (chmod, cp, dd, ls, sort, tr, head, wc, who,...)"},
	{"sys-apps/gentoo-functions-1.6", "GPL-2", "Base functions required by all Gentoo systems"},
	{"sys-apps/portage-3.0.65", "GPL-2", "The package management and distribution system for Gentoo"},
	{"sys-apps/sed-4.9", "GPL-3+", "Super-useful stream editor"},
	{"sys-apps/util-linux-2.39.4-r1", "GPL-2 GPL-3 LGPL-2.1 BSD-4 MIT public-domain", "Various useful Linux utilities"},
	{"sys-devel/gcc-13.2.1_p20240210", "GPL-3+ LGPL-3+ || ( GPL-3+ libgcc libstdc++ gcc-runtime-library-exception-3.1 ) FDL-1.3+", "The GNU Compiler Collection"},
	{"sys-libs/glibc-2.39-r6", "LGPL-2.1+ BSD HPND ISC inner-net rc PCRE", "GNU libc C library"},
	{"sys-libs/ncurses-6.4_p20240414", "MIT", "Console display library"},
	{"sys-libs/timezone-data-2024a", "BSD public-domain", "Timezone data (/usr/share/zoneinfo) and utilities (tzselect/zic/zdump)"},
	{"sys-libs/zlib-1.3.1-r1", "ZLIB", "Standard (de)compression library"},
	{"virtual/libc-1-r1", "", "Virtual for the C library"},
}

// gentooOSRelease is Gentoo's os-release.
const gentooOSRelease = `NAME=Gentoo
ID=gentoo
PRETTY_NAME="Gentoo Linux"
ANSI_COLOR="1;32"
HOME_URL="https://www.gentoo.org/"
SUPPORT_URL="https://www.gentoo.org/support/"
BUG_REPORT_URL="https://bugs.gentoo.org/"
VERSION_ID="2.15"
`

// gentooLayers are a Gentoo root: os-release and Portage's database, a
// directory per package with the files Portage writes there (CONTENTS,
// LICENSE, SIZE, DESCRIPTION, …) and, in a second layer, the database
// after an upgrade of curl.
func gentooLayers(t testing.TB, layer layerFunc) []v1.Layer {
	entries := []entry{
		dir("etc"), file("etc/os-release", []byte(gentooOSRelease)),
		dir("var"), dir("var/db"), dir("var/db/pkg"),
	}
	seen := map[string]bool{}
	for _, p := range gentooPackages {
		category, pf, _ := strings.Cut(p.cpv, "/")
		if !seen[category] {
			seen[category] = true
			entries = append(entries, dir("var/db/pkg/"+category))
		}
		entries = append(entries, portageEntries(category, pf, p.license, p.description)...)
	}
	return []v1.Layer{
		layer(t, entries...),
		layer(t, append([]entry{whiteout("var/db/pkg/net-misc/.wh.curl-8.7.1-r4")},
			portageEntries("net-misc", "curl-8.8.0", "BSD curl ISC test? ( BSD-4 )", "A Client that groks URLs")...)...),
	}
}

// portageEntries are the files of a package's directory in Portage's
// database.
func portageEntries(category, pf, license, description string) []entry {
	d := "var/db/pkg/" + category + "/" + pf + "/"
	name := strings.TrimSuffix(pf, pf[strings.LastIndex(pf, "-"):])
	contents := fmt.Sprintf("dir /usr\ndir /usr/share\ndir /usr/share/doc\ndir /usr/share/doc/%[1]s\nobj /usr/share/doc/%[1]s/README.bz2 %[2]s 1716500000\nsym /usr/lib/lib%[3]s.so -> lib%[3]s.so.1 1716500000\n", pf, strings.Repeat("5f", 16), name)
	return []entry{
		dir(strings.TrimSuffix(d, "/")),
		file(d+"CONTENTS", []byte(contents)),
		file(d+"LICENSE", []byte(license+"\n")),
		file(d+"SIZE", []byte("1048576\n")),
		file(d+"CATEGORY", []byte(category+"\n")),
		file(d+"PF", []byte(pf+"\n")),
		file(d+"SLOT", []byte("0\n")),
		file(d+"EAPI", []byte("8\n")),
		file(d+"repository", []byte("gentoo\n")),
		file(d+"DESCRIPTION", []byte(description+"\n")), // not an R package's
		file(d+"KEYWORDS", []byte("amd64 arm64 ~riscv x86\n")),
		file(d+pf+".ebuild", []byte("# Copyright 1999-2024 Gentoo Authors\n# Distributed under the terms of the GNU General Public License v2\n\nEAPI=8\n\nDESCRIPTION=\""+description+"\"\nLICENSE=\""+license+"\"\n")),
	}
}
