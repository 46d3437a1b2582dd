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

// rLayers are a Debian 12 root with R: the dpkg status of r-base-core
// and five r-cran-* packages, the DESCRIPTION files of R's base packages
// (/usr/lib/R/library, from r-base-core) and every file the r-cran-*
// packages install in /usr/lib/R/site-library (testdata/README.md).
func rLayers(t testing.TB, layer layerFunc) []v1.Layer {
	return []v1.Layer{
		layer(t,
			dir("etc"), file("etc/os-release", testdata(t, "debian12/os-release")),
			dir("var"), dir("var/lib"), dir("var/lib/dpkg"), file("var/lib/dpkg/status", testdata(t, "r/status")),
		),
		layer(t, tarEntries(t, "r/library.tar.gz")...),
	}
}

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

// luaRocks are the rocks of the Lua fixture (testdata/lua/NAME-VERSION.rockspec,
// written in the rockspec format of each rock's release) and where they
// are installed: a LuaRocks tree keeps a rock's rockspec in
// lib/luarocks/rocks-5.1/NAME/VERSION/, NAME in lower case.
var luaRocks = []struct{ name, version string }{
	{"inspect", "3.1.3-0"},
	{"lpeg", "1.1.0-1"},
	{"lua-cjson", "2.1.0.10-1"},
	{"lua-resty-http", "0.17.1-0"},
	{"luafilesystem", "1.8.0-1"},
	{"luasocket", "3.1.0-1"},
	{"penlight", "1.14.0-1"},
}

// luaLayers are an OpenResty-style image: a LuaRocks tree in /usr/local
// (each rock's rockspec and rock_manifest, the tree's manifest) and, in a
// second layer, the application with its own rockspec.
func luaLayers(t testing.TB, layer layerFunc) []v1.Layer {
	const rocks = "usr/local/lib/luarocks/rocks-5.1/"
	entries := []entry{
		dir("etc"), file("etc/os-release", testdata(t, "debian12/os-release")),
		dir("usr"), dir("usr/local"), dir("usr/local/lib"), dir("usr/local/lib/luarocks"), dir(strings.TrimSuffix(rocks, "/")),
	}
	var manifest strings.Builder
	manifest.WriteString("commands = {}\nmodules = {}\nrepository = {\n")
	for _, r := range luaRocks {
		spec := r.name + "-" + r.version + ".rockspec"
		d := rocks + r.name + "/" + r.version + "/"
		entries = append(entries, dir(rocks+r.name), dir(strings.TrimSuffix(d, "/")),
			file(d+spec, testdata(t, "lua/"+spec)),
			file(d+"rock_manifest", fmt.Appendf(nil, "rock_manifest = {\n   [%q] = %q\n}\n", spec, strings.Repeat("0f", 16))))
		fmt.Fprintf(&manifest, "   [%q] = {\n      [%q] = {\n         {\n            arch = \"installed\"\n         }\n      }\n   },\n", r.name, r.version)
	}
	manifest.WriteString("}\n")
	entries = append(entries, file(rocks+"manifest", []byte(manifest.String())))
	return []v1.Layer{
		layer(t, entries...),
		layer(t, dir("app"), file("app/shop-1.4.0-1.rockspec", testdata(t, "lua/shop-1.4.0-1.rockspec")), file("app/nginx.conf", []byte("events {}\n"))),
	}
}
