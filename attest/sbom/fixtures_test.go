package sbom

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Fixture images, built from real files: this host's Debian 12 dpkg status,
// a distroless-style status.d made from it, a realistic apk database, RPM
// databases in the three formats, and a Go executable built by the test.

// debianLayers are a Debian 12 root: os-release as a link to
// /usr/lib/os-release (as on Debian), the dpkg status, and a Go binary.
func debianLayers(t testing.TB, layer layerFunc) []v1.Layer {
	return []v1.Layer{
		layer(t,
			dir("etc"),
			entry{name: "etc/os-release", typ: tar.TypeSymlink, link: "../usr/lib/os-release"},
			dir("usr"), dir("usr/lib"),
			file("usr/lib/os-release", testdata(t, "debian12/os-release")),
			dir("var"), dir("var/lib"), dir("var/lib/dpkg"),
			file("var/lib/dpkg/status", testdata(t, "debian12/status.gz")),
		),
		layer(t,
			dir("usr/local/bin"),
			exe("usr/local/bin/hello", readFile(t, helloBinary(t))),
			file("usr/local/bin/README", []byte("not a binary\n")),
		),
	}
}

// distrolessLayers are a distroless-style root with status.d files.
func distrolessLayers(t testing.TB, layer layerFunc) []v1.Layer {
	entries := []entry{
		dir("etc"),
		{name: "etc/os-release", typ: tar.TypeSymlink, link: "../usr/lib/os-release"},
		dir("usr"), dir("usr/lib"),
		file("usr/lib/os-release", testdata(t, "debian12/os-release")),
		dir("var"), dir("var/lib"), dir("var/lib/dpkg"), dir("var/lib/dpkg/status.d"),
	}
	names, err := filepath.Glob("testdata/distroless/status.d/*")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	for _, n := range names {
		entries = append(entries, file("var/lib/dpkg/status.d/"+filepath.Base(n), readFile(t, n)))
		entries = append(entries, file("var/lib/dpkg/status.d/"+filepath.Base(n)+".md5sums", []byte("d41d8cd98f00b204e9800998ecf8427e  usr/share/doc/x\n")))
	}
	return []v1.Layer{layer(t, entries...)}
}

// alpineLayers are an Alpine 3.20 root.
func alpineLayers(t testing.TB, layer layerFunc) []v1.Layer {
	return []v1.Layer{
		layer(t, file("etc/os-release", testdata(t, "alpine/os-release"))),
		layer(t, dir("lib"), dir("lib/apk"), dir("lib/apk/db"), file("lib/apk/db/installed", testdata(t, "alpine/installed"))),
	}
}

// rpmLayers hold one RPM database of each format at the three places rpm
// keeps them.
func rpmLayers(t testing.TB, layer layerFunc) []v1.Layer {
	return []v1.Layer{
		layer(t, file("etc/os-release", []byte("ID=\"rhel\"\nVERSION_ID=\"8.8\"\n"))),
		layer(t,
			file("var/lib/rpm/rpmdb.sqlite", testdata(t, "rpm/rpmdb.sqlite.gz")),
			file("usr/lib/sysimage/rpm/Packages.db", testdata(t, "rpm/sle15-bci-Packages.db.gz")),
			file("usr/share/rpm/Packages", testdata(t, "rpm/el8-libuuid-Packages.gz")),
		)}
}

// rubyLayers are the installed gemspecs of real Debian 12 packages
// (testdata/README.md): the gems bundled with Ruby 3.1 (default and
// bundled), and gems packaged by Debian under rubygems-integration.
func rubyLayers(t testing.TB, layer layerFunc) []v1.Layer {
	return []v1.Layer{
		layer(t, file("etc/os-release", testdata(t, "debian12/os-release"))),
		layer(t, tarEntries(t, "ruby/gemspecs.tar.gz")...),
	}
}

// phpLayers are real PHP package registries (testdata/README.md):
// MediaWiki 1.39's Composer installed.json, as Debian 12 ships it, and
// the PEAR registry of Debian 12's php-pear.
func phpLayers(t testing.TB, layer layerFunc) []v1.Layer {
	return []v1.Layer{
		layer(t, file("etc/os-release", testdata(t, "debian12/os-release"))),
		layer(t,
			dir("usr"), dir("usr/share"), dir("usr/share/mediawiki"), dir("usr/share/mediawiki/vendor"), dir("usr/share/mediawiki/vendor/composer"),
			file("usr/share/mediawiki/vendor/composer/installed.json", testdata(t, "php/mediawiki-installed.json.gz")),
		),
		layer(t, tarEntries(t, "php/pear-registry.tar.gz")...),
	}
}

// pythonLayers are Python distributions as Debian installs them (this
// host's /usr/lib/python3/dist-packages: dist-info and egg-info
// directories) and, in a second layer, as pip and a source build of Python
// install them under /usr/local (wheels' dist-info, distutils' egg-info
// files, Python 2.7's own).
func pythonLayers(t testing.TB, layer layerFunc) []v1.Layer {
	return []v1.Layer{
		layer(t, tarEntries(t, "python/dist-packages.tar.gz")...),
		layer(t, tarEntries(t, "python/usr-local.tar.gz")...),
	}
}

// npmLayers are a Node.js application's real node_modules (express 4,
// @babel/core 7 and resolve 1 with their dependencies, nested and scoped;
// resolve ships test fixtures with package.json files of their own).
func npmLayers(t testing.TB, layer layerFunc) []v1.Layer {
	return []v1.Layer{layer(t, tarEntries(t, "npm/app.tar.gz")...)}
}

// dotnetLayers are two .NET applications' deps.json files as the .NET
// SDK wrote them: a net6.0 library build with NuGet packages and a
// second project, and a net8.0 self-contained publish that lists its
// runtime pack.
func dotnetLayers(t testing.TB, layer layerFunc) []v1.Layer {
	return []v1.Layer{layer(t,
		dir("app"), file("app/TestLibrary.deps.json", testdata(t, "dotnet/TestLibrary.deps.json")),
		dir("srv"), dir("srv/dotnetapp"), file("srv/dotnetapp/dotnetapp.deps.json", testdata(t, "dotnet/dotnetapp.deps.json.gz")),
	)}
}

// rustLayers are a Rust executable with a cargo auditable dependency
// list: a host ELF with a .dep-v0 section added by objcopy (see
// testdata/README.md).
func rustLayers(t testing.TB, layer layerFunc) []v1.Layer {
	return []v1.Layer{layer(t,
		dir("usr"), dir("usr/local"), dir("usr/local/bin"),
		exe("usr/local/bin/optimizer-server", testdata(t, "rust/optimizer-server.gz")),
	)}
}

// tarEntries reads the directories and regular files of the tar
// testdata/name (gzipped if its name ends in .gz) as fixture entries,
// with an entry for every parent directory, as real layers have them.
func tarEntries(t testing.TB, name string) []entry {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(testdata(t, name)))
	var out []entry
	dirs := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeDir {
			continue
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		var parents []string
		if hdr.Typeflag == tar.TypeDir {
			name = path.Join(name, "x") // the directory itself and its parents
		}
		for d := path.Dir(name); d != "." && d != "/" && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			out = append(out, dir(parents[i]))
		}
		if hdr.Typeflag == tar.TypeDir {
			continue
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, file(hdr.Name, body))
	}
}

// javaLayers are Debian's jars in /usr/share/java (real files of Debian 12
// packages, with their links), a Spring Boot jar, a war and a
// distribution zip assembled from them.
func javaLayers(t testing.TB, layer layerFunc) []v1.Layer {
	return []v1.Layer{
		layer(t, debianJars(t)...),
		layer(t, dir("app"), file("app/shop.jar", springBootJar(t)), dir("srv"), file("srv/store.war", webArchive(t)),
			dir("opt"), file("opt/tool-1.0.zip", zipBytes(t, zipFile{name: "tool-1.0/lib/jcip-annotations-1.0.jar", body: readFile(t, "testdata/java/jcip-annotations-1.0.jar")}))),
	}
}

// fillerLayer is ordinary content: many small files and a few non-Go
// executables, which the catalogers must skip quickly.
func fillerLayer(t testing.TB, layer layerFunc) v1.Layer {
	var entries []entry
	for i := range 2000 {
		entries = append(entries, file(filepath.Join("usr/share/doc", itoa3(i/100), itoa3(i)+".txt"), []byte("some documentation text\n")))
	}
	for _, p := range []string{"/usr/bin/dpkg", "/usr/bin/gzip", "/usr/bin/tar"} {
		if b, err := os.ReadFile(p); err == nil {
			entries = append(entries, exe("usr/bin/"+filepath.Base(p), b))
		}
	}
	return layer(t, entries...)
}

func itoa3(i int) string {
	return string([]byte{byte('0' + i/100%10), byte('0' + i/10%10), byte('0' + i%10)})
}

// fixtureImages are the images the benchmark, the syft comparison and
// other tests use, by name, with gzip-compressed layers as registries serve
// them (golden files use plainLayer).
func fixtureImages(t testing.TB) map[string]v1.Image {
	all := slices.Concat(debianLayers(t, layer), alpineLayers(t, layer)[1:], rpmLayers(t, layer)[1:], []v1.Layer{fillerLayer(t, layer)})
	return map[string]v1.Image{
		"debian":     image(t, debianLayers(t, layer)...),
		"distroless": image(t, distrolessLayers(t, layer)...),
		"alpine":     image(t, alpineLayers(t, layer)...),
		"rpm":        image(t, rpmLayers(t, layer)...),
		"all":        image(t, all...),
		"ruby":       image(t, rubyLayers(t, layer)...),
		"php":        image(t, phpLayers(t, layer)...),
		"java":       image(t, javaLayers(t, layer)...),
		"python":     image(t, pythonLayers(t, layer)...),
		"npm":        image(t, npmLayers(t, layer)...),
		"dotnet":     image(t, dotnetLayers(t, layer)...),
		"rust":       image(t, rustLayers(t, layer)...),
		"r":          image(t, rLayers(t, layer)...),
		"arch":       image(t, archLayers(t, layer)...),
		"lua":        image(t, luaLayers(t, layer)...),
		"gentoo":     image(t, gentooLayers(t, layer)...),
		"homebrew":   image(t, homebrewLayers(t, layer)...),
	}
}
