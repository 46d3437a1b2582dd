package sbom

import (
	"archive/tar"
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

// brewKegs are the kegs of the Homebrew fixture: each one's formula is
// testdata/homebrew/NAME.rb, written after homebrew-core's; xz's keg has
// the formula's revision.
var brewKegs = []struct{ name, version string }{
	{"ca-certificates", "2024-07-02"},
	{"jq", "1.7.1"},
	{"lz4", "1.9.4"},
	{"oniguruma", "6.9.9"},
	{"openssl@3", "3.3.1"},
	{"xz", "5.6.2_1"},
	{"zstd", "1.5.6"},
}

// homebrewLayers are a Homebrew on Linux image: in
// /home/linuxbrew/.linuxbrew, a keg per formula (its formula in .brew,
// INSTALL_RECEIPT.json, an executable) and the opt and bin links.
func homebrewLayers(t testing.TB, layer layerFunc) []v1.Layer {
	const prefix = "home/linuxbrew/.linuxbrew/"
	entries := []entry{
		dir("etc"), file("etc/os-release", testdata(t, "debian12/os-release")),
		dir("home"), dir("home/linuxbrew"), dir(prefix[:len(prefix)-1]), dir(prefix + "Cellar"), dir(prefix + "opt"), dir(prefix + "bin"),
	}
	for _, k := range brewKegs {
		keg := prefix + "Cellar/" + k.name + "/" + k.version + "/"
		receipt := fmt.Sprintf(`{"homebrew_version":"4.3.8","used_options":[],"unused_options":[],"built_as_bottle":true,"poured_from_bottle":true,"installed_as_dependency":%t,"installed_on_request":%t,"time":1720000000,"source":{"path":"/home/linuxbrew/.linuxbrew/Homebrew/Library/Taps/homebrew/homebrew-core/Formula/%s.rb","tap":"homebrew/core","spec":"stable","versions":{"stable":%q,"head":null,"version_scheme":0}},"arch":"x86_64"}`,
			k.name != "jq", k.name == "jq", k.name, strings.Split(k.version, "_")[0])
		entries = append(entries,
			dir(prefix+"Cellar/"+k.name), dir(keg[:len(keg)-1]), dir(keg+".brew"), dir(keg+"bin"),
			file(keg+".brew/"+k.name+".rb", testdata(t, "homebrew/"+k.name+".rb")),
			file(keg+"INSTALL_RECEIPT.json", []byte(receipt)),
			exe(keg+"bin/"+strings.TrimSuffix(k.name, "@3"), []byte("#!/bin/sh\n")),
			entry{name: prefix + "opt/" + k.name, typ: tar.TypeSymlink, link: "../Cellar/" + k.name + "/" + k.version},
		)
	}
	entries = append(entries, entry{name: prefix + "bin/jq", typ: tar.TypeSymlink, link: "../Cellar/jq/1.7.1/bin/jq"})
	return []v1.Layer{layer(t, entries...)}
}
