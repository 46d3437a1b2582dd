package sbom

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// The fuzz tests feed untrusted bytes to every parser. None may panic, hang
// or return a package without a name, nor without a version except where
// the ecosystem allows one (an unversioned npm application), nor two Main
// packages for one file or archive.

func FuzzDpkgStatus(f *testing.F) {
	f.Add(testdata(f, "debian12/status.gz")[:8192])
	f.Add(readFile(f, "testdata/distroless/status.d/libc6"))
	f.Add([]byte("Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\n"))
	f.Add([]byte("Package:\nVersion:\n\n \n\t\n:\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, _ := parseDpkgStatus(bytes.NewReader(b))
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || !p.installed() {
				t.Fatalf("package %+v", p)
			}
			_ = p.purl(&osRelease{ID: "debian", VersionID: "12"})
		}
	})
}

func FuzzApkInstalled(f *testing.F) {
	f.Add(testdata(f, "alpine/installed"))
	f.Add([]byte("P:a\nV:1\n\nP:b\r\nV:2\r\n"))
	f.Add([]byte("P\n:\nV:\n\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, _ := parseApkInstalled(bytes.NewReader(b))
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package %+v", p)
			}
			_ = p.purl(nil)
			_ = validLicenseExpression(p.License)
		}
	})
}

func FuzzRPMHeader(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 3, 232, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 0})
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseRPMHeader(b)
		if err == nil && (p.Name == "" || p.Version == "") {
			t.Fatalf("package %+v", p)
		}
	})
}

// FuzzRPMDB runs the NDB and Berkeley DB readers and the header parser over
// the same bytes.
func FuzzRPMDB(f *testing.F) {
	f.Add(testdata(f, "rpm/el8-libuuid-Packages.gz"))
	f.Add(craftNDB(100))
	f.Add(testdata(f, "rpm/sle15-bci-Packages.db.gz")[:16384])
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		yield := func(blob []byte) bool {
			_, _ = parseRPMHeader(blob)
			return true
		}
		if len(b) >= 16 {
			_ = ndbBlobs(r, int64(len(b)), yield)
			if isBDBHash(b[12:16]) || len(b) >= 512 {
				_ = bdbBlobs(r, int64(len(b)), yield)
			}
		}
	})
}

func FuzzGoBuildInfo(f *testing.F) {
	hello := readFile(f, helloBinary(f))
	f.Add(hello[:4096])
	f.Add(append(bytes.Clone(hello[:64]), goBuildInfoMagic...))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := readGoBuildInfo(bytes.NewReader(b), int64(len(b)))
		if (info == nil) == (err == nil) {
			t.Fatalf("info %v and error %v", info, err)
		}
	})
}

// FuzzLayer runs Generate over an image of one layer of arbitrary bytes.
func FuzzLayer(f *testing.F) {
	f.Add(tarBytes(f, statusD("a", "1"), whiteout("var/lib/dpkg/status.d/.wh.b"), file("lib/apk/db/installed", []byte("P:a\nV:1\n"))))
	f.Add(tarBytes(f, dir("x"), whiteout("x/.wh..wh..opq"), file("etc/os-release", []byte("ID=alpine\n"))))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := tarballLayer(b)
		if err != nil {
			t.Skip()
		}
		doc, err := Generate(t.Context(), image(t, l), WithMaxLayerBytes(1<<20), WithMaxEntries(1000), WithCreated(fixedTime), WithTempDir(t.TempDir()))
		if err != nil {
			return
		}
		if _, err := doc.JSON(); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzPythonMetadata(f *testing.F) {
	f.Add([]byte("Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\nLicense: MIT\nClassifier: A\n  cont\n\nbody\n"))
	f.Add([]byte("Name: x\r\nVersion:\r\n \r\n\t\r\n:\r\n"))
	f.Add([]byte("License-Expression: MIT\nName:_.-\nVersion: 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, _ := parsePythonMetadata(bytes.NewReader(b), int64(len(b)))
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || !strings.HasPrefix(p.PURL, "pkg:pypi/") {
				t.Fatalf("package %+v", p)
			}
		}
	})
}

func FuzzPackageJSON(f *testing.F) {
	f.Add([]byte(`{"name":"@babel/core","version":"7.26.0","license":{"type":"MIT"}}`))
	f.Add([]byte(`{"name":"x","version":"1","licenses":["MIT",{"type":"A B"},3]}`))
	f.Add([]byte(`{"name":"/","version":" "}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, _ := parsePackageJSON(bytes.NewReader(b), int64(len(b)))
		for _, p := range pkgs {
			if p.Name == "" || !strings.HasPrefix(p.PURL, "pkg:npm/") {
				t.Fatalf("package %+v", p)
			}
		}
	})
}

func FuzzGemspec(f *testing.F) {
	f.Add([]byte("Gem::Specification.new do |s|\n  s.name = \"rack\".freeze\n  s.version = \"2.2.22\"\n  s.licenses = [\"Ruby\".freeze, \"BSD-2-Clause\".freeze]\nend\n"))
	f.Add([]byte("s.name = 'caf\\u00e9\\'\\\\'\r\ns.version = \"\\u12\"\ns.license = \"#{x}\"\n"))
	f.Add([]byte("x.licenses = [\"a\",, 'b' , \"c\".freeze\nq.name=\"\"\n.version = \"1\"\n"))
	for _, e := range tarEntries(f, "ruby/gemspecs.tar.gz") {
		if strings.HasSuffix(e.name, "/rack-2.2.22.gemspec") || strings.HasSuffix(e.name, "/json-2.6.1.gemspec") {
			f.Add(e.body)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, _ := parseGemspec(bytes.NewReader(b), int64(len(b)))
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || !strings.HasPrefix(p.PURL, "pkg:gem/") {
				t.Fatalf("package %+v", p)
			}
		}
	})
}

func FuzzInstalledJSON(f *testing.F) {
	f.Add([]byte(`{"packages":[{"name":"symfony/yaml","version":"v5.4.23","license":["MIT","GPL-2.0 WITH X"]},{"name":3},"s"],"dev":true}`))
	f.Add([]byte(`[{"name":"a/b/c","version":"1","license":"MIT"},{"name":"solo","version":"dev-main"}]`))
	f.Add(testdata(f, "php/mediawiki-installed.json.gz")[:4096])
	f.Add([]byte(`{"x":[{"packages":[]}],"packages":[{"name":"/","version":" "}]}[{"name":"a/a","version":"1"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, _ := parseInstalledJSON(bytes.NewReader(b), int64(len(b)))
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || !strings.HasPrefix(p.PURL, "pkg:composer/") {
				t.Fatalf("package %+v", p)
			}
		}
	})
}

func FuzzPearRegistry(f *testing.F) {
	f.Add([]byte(`a:4:{s:4:"name";s:9:"memcached";s:7:"channel";s:12:"pecl.php.net";s:7:"version";a:2:{s:7:"release";s:5:"3.2.0";s:3:"api";s:5:"3.2.0";}s:7:"license";a:2:{s:7:"attribs";a:1:{s:3:"uri";s:3:"x:y";}s:8:"_content";s:11:"PHP License";}}`))
	f.Add([]byte(`a:5:{s:4:"name";s:1:"x";s:7:"version";a:1:{s:7:"release";s:1:"1";}i:-3;d:1.5e3;s:1:"o";O:8:"stdClass":2:{s:1:"a";b:1;s:1:"n";N;}}`))
	f.Add([]byte(`a:2:{i:0;r:1;s:7:"license";s:3:"PHP";}`))
	for _, e := range tarEntries(f, "php/pear-registry.tar.gz") {
		if strings.HasSuffix(e.name, ".reg") {
			f.Add(e.body)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, _ := parsePearRegistry(bytes.NewReader(b), int64(len(b)))
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || !strings.HasPrefix(p.PURL, "pkg:pear/") {
				t.Fatalf("package %+v", p)
			}
		}
	})
}

// FuzzJavaArchive reads arbitrary bytes as a Java archive, nested
// archives included.
func FuzzJavaArchive(f *testing.F) {
	f.Add(testdata(f, "java/jcip-annotations-1.0.jar"))
	f.Add(zipBytes(f, manifest("Created-By: Apache Maven Bundle Plugin\r\nBundle-SymbolicName: org.x.y\r\n"), pomProps("org.x", "y", "1"), pomProps("org.z", "z", "2")))
	f.Add(zipBytes(f, manifest("Main-Class: a\r\n"), zipFile{name: "version.properties", body: []byte("tag=v1\n")},
		zipFile{name: "BOOT-INF/lib/a-1.jar", body: zipBytes(f, manifest(" \r\n:\r\nImplementation-Version: 1\r\n")), store: true}))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, _ := parseJavaArchive(bytes.NewReader(b), int64(len(b)), "/app/x-1.0.jar")
		mains := map[string]bool{}
		for _, p := range pkgs {
			if p.Name == "" || !strings.HasPrefix(p.PURL, "pkg:maven/") || p.Path != "" && !strings.HasPrefix(p.Path, "!/") || p.Main && mains[p.Path] {
				t.Fatalf("package %+v", p)
			}
			mains[p.Path] = mains[p.Path] || p.Main
		}
	})
}

func FuzzDepsJSON(f *testing.F) {
	f.Add([]byte(`{"targets":{"t":{"App/1.0.0":{"dependencies":{"A":"2.0.0"}},"A/2.0.0":{"runtime":{"a.dll":{}}}}},"libraries":{"App/1.0.0":{"type":"project"}}}`))
	f.Add([]byte(`{"targets":{"t":{"Fody/6.0.0":{},"B":{"dependencies":{"B":""}},"/":{"native":{"x":1}}}},"libraries":{"B":{"type":"referenceassembly"}}}`))
	f.Add(testdata(f, "dotnet/TestLibrary.deps.json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkgs, _ := parseDepsJSON("/app/App.deps.json", bytes.NewReader(b), int64(len(b)))
		for _, p := range pkgs {
			if p.Name == "" || !strings.HasPrefix(p.PURL, "pkg:nuget/") {
				t.Fatalf("package %+v", p)
			}
		}
	})
}

// FuzzRustScanner feeds a file to the cargo auditable scanner in writes
// whose size the first byte chooses.
func FuzzRustScanner(f *testing.F) {
	deps := zlibBytes(`{"packages":[{"name":"a","version":"1.0.0"},{"name":"b","version":"2.0.0","kind":"build"}]}`)
	f.Add(testELF(binary.LittleEndian, true, false, testSection{".dep-v0", 1, deps}))
	f.Add(testELF(binary.LittleEndian, true, false, testSection{".dep-v0", 1, zlibBytes(`{"packages":[{"name":"a","version":"1","root":true},{"name":"b","root":true}]}`)}))
	f.Add(testELF(binary.BigEndian, false, true, testSection{".rust-deps-v0", 1, deps}, testSection{".x", 8, nil}))
	f.Add(testdata(f, "rust/optimizer-server.gz")[:4096])
	f.Fuzz(func(t *testing.T, b []byte) {
		chunk := 1
		if len(b) > 0 {
			chunk += int(b[0])
		}
		pkgs, _ := rustScan(b, chunk)
		root := false
		for _, p := range pkgs {
			if p.Name == "" || !strings.HasPrefix(p.PURL, "pkg:cargo/") || p.Main && root {
				t.Fatalf("package %+v", p)
			}
			root = root || p.Main
		}
	})
}
