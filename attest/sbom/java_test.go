package sbom

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// zipFile is one entry of a test archive; store keeps it uncompressed,
// as Spring Boot stores nested jars.
type zipFile struct {
	name  string
	body  []byte
	store bool
}

// zipBytes writes a zip archive of files.
func zipBytes(t testing.TB, files ...zipFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: fixedTime}
		if f.store {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func manifest(fields string) zipFile {
	return zipFile{name: "META-INF/MANIFEST.MF", body: []byte("Manifest-Version: 1.0\r\n" + fields)}
}

func pomProps(group, artifact, version string) zipFile {
	return zipFile{
		name: "META-INF/maven/" + group + "/" + artifact + "/pom.properties",
		body: []byte("#Created by Apache Maven 3.8.6\ngroupId=" + group + "\nartifactId=" + artifact + "\nversion=" + version + "\n"),
	}
}

func TestNewJavaArchiveFilename(t *testing.T) {
	// cases from syft's archive_filename_test.go, and two of Debian's
	for raw, want := range map[string]archiveFilename{
		"pkg-maven-4.3.2.blerg":                     {"pkg-maven", "4.3.2"},
		"pkg-maven.4.3.2.blerg":                     {"pkg-maven", "4.3.2"},
		"pkg-maven_4.3.2.blerg":                     {"pkg-maven", "4.3.2"},
		"liferay-package.lpkg":                      {"liferay-package", ""},
		"pkg-extra-field-maven-4.3.2-rc1.ear":       {"pkg-extra-field-maven", "4.3.2-rc1"},
		"wagon-webdav-1.0.2-beta-2.2.3a-hudson.jar": {"wagon-webdav", "1.0.2-beta-2.2.3a-hudson"},
		"jtidy-4aug2000r7-dev-hudson-1.jar":         {"jtidy", "4aug2000r7-dev-hudson-1"},
		"trilead-ssh2-build212-hudson-5.jar":        {"trilead-ssh2", "build212-hudson-5"},
		"guava-r06.jar":                             {"guava", "r06"},
		"spring-data-r2dbc-1.1.0.RELEASE.jar":       {"spring-data-r2dbc", "1.1.0.RELEASE"},
		"jboss-saaj-api_1.4_spec-1.0.2.Final.jar":   {"jboss-saaj-api_1.4_spec", "1.0.2.Final"},
		"gradle-build-cache-8.1.1.jar":              {"gradle-build-cache", "8.1.1"},
		"jsr305-0.1~+svn49.jar":                     {"jsr305", "0.1~+svn49"},
		"commons-codec.jar":                         {"commons-codec", ""},
	} {
		if got := newJavaArchiveFilename(raw); got != want {
			t.Errorf("newJavaArchiveFilename(%q) = %+v, want %+v", raw, got, want)
		}
	}
}

func TestParseJavaManifest(t *testing.T) {
	m := parseJavaManifest([]byte("Manifest-Version: 1.0\r\nImplementation-Title: a very long\r\n  title\r\nno colon here\r\n: empty key\r\n\r\nName: org/x/\r\nImplementation-Version: 2\r\nBundle-License: \"Apache-2.0\";link=\"https://x\"\r\n"))
	if v, _ := m.get("Implementation-Title"); v != "a very longtitle" {
		t.Errorf("continued value %q", v)
	}
	if _, ok := m.get("Implementation-Version"); ok {
		t.Error("a per-entry section's field is read as a main one")
	}
	if v := m.field("Implementation-Version"); v != "2" {
		t.Errorf("field from a section = %q", v)
	}
	if l := m.license(); l != "Apache-2.0" {
		t.Errorf("license %q, want Apache-2.0 without its OSGi attributes", l)
	}
}

func TestParseJavaArchive(t *testing.T) {
	plugin := manifest("Created-By: Apache Maven Bundle Plugin\r\nBundle-SymbolicName: org.apache.commons.lang3\r\nBundle-Version: 3.12.0\r\nBundle-License: https://www.apache.org/licenses/LICENSE-2.0.txt\r\n")
	lib := zipBytes(t, manifest("Implementation-Version: 2.0\r\n"), pomProps("org.example", "lib", "2.0"))
	tests := []struct {
		name, file string
		files      []zipFile
		want       []string // purl and nested path
		wantErr    string
	}{
		{"pom.properties names the jar", "commons-lang3.jar",
			[]zipFile{plugin, pomProps("org.apache.commons", "commons-lang3", "3.12.0")},
			[]string{"pkg:maven/org.apache.commons/commons-lang3@3.12.0 "}, ""},
		{"manifest of the Maven bundle plugin", "whatever-1.0.jar",
			[]zipFile{plugin},
			[]string{"pkg:maven/org.apache.commons.lang3/lang3@1.0 "}, ""},
		{"file name, manifest group", "hamcrest-2.2.jar",
			[]zipFile{manifest("Implementation-Vendor: hamcrest.org\r\nBundle-SymbolicName: org.hamcrest\r\nImplementation-Version: 9\r\n")},
			[]string{"pkg:maven/org.hamcrest/hamcrest@2.2 "}, ""},
		{"no group anywhere: the name", "jcip-annotations-1.0.jar",
			[]zipFile{manifest("Created-By: 1.6.0_01-b06 (Sun Microsystems Inc.)\r\n")},
			[]string{"pkg:maven/jcip-annotations/jcip-annotations@1.0 "}, ""},
		{"a well-known artifact: syft's table of groups", "ant-1.10.13.jar",
			[]zipFile{manifest("Implementation-Vendor: Apache Software Foundation\r\nMain-Class: org.apache.tools.ant.Main\r\n")},
			[]string{"pkg:maven/org.apache.ant/ant@1.10.13 "}, ""},
		{"a moved artifact, before", "groovy-2.5.23.jar", []zipFile{manifest("")}, []string{"pkg:maven/org.codehaus.groovy/groovy@2.5.23 "}, ""},
		{"a moved artifact, after", "groovy-4.0.24.jar", []zipFile{manifest("")}, []string{"pkg:maven/org.apache.groovy/groovy@4.0.24 "}, ""},
		{"version from the manifest", "app.jar",
			[]zipFile{manifest("Implementation-Title: app\r\nSpecification-Version: 7\r\n")},
			[]string{"pkg:maven/app/app@7 "}, ""},
		{"version.properties of a Main-Class jar", "metabase.jar",
			[]zipFile{manifest("Main-Class: metabase.core\r\n"), {name: "version.properties", body: []byte("tag=v0.63.5\nhash=abc\n")}},
			[]string{"pkg:maven/metabase/metabase@0.63.5 "}, ""},
		{"shaded: the others are packages of their own", "shop-1.0.jar",
			[]zipFile{manifest("Main-Class: com.example.Shop\r\n"), pomProps("com.example", "shop", "1.0"), pomProps("com.google.guava", "guava", "31.1-jre"), pomProps("org.slf4j", "slf4j-api", "1.7.32")},
			[]string{"pkg:maven/com.example/shop@1.0 ", "pkg:maven/com.google.guava/guava@31.1-jre ", "pkg:maven/org.slf4j/slf4j-api@1.7.32 "}, ""},
		{"no pom.properties matches: the manifest's package and each pom.properties", "fat.jar",
			[]zipFile{manifest("Implementation-Version: 5\r\n"), pomProps("org.a", "a", "1"), pomProps("org.b", "b", "2")},
			[]string{"pkg:maven/fat/fat@5 ", "pkg:maven/org.a/a@1 ", "pkg:maven/org.b/b@2 "}, ""},
		{"no manifest: nothing, as in syft", "lib-1.0.jar",
			[]zipFile{pomProps("org.example", "lib", "1.0")}, nil, ""},
		{"Weave-Classes: an instrumentation jar", "spring-1.0.jar",
			[]zipFile{manifest("Weave-Classes: x\r\n"), pomProps("org.springframework", "spring", "1.0")}, nil, ""},
		{"incomplete or broken pom.properties are skipped", "x-1.jar",
			[]zipFile{manifest(""), {name: "META-INF/maven/g/y/pom.properties", body: []byte("artifactId=y\n")}, {name: "META-INF/maven/g/z/pom.properties", body: []byte("garbage\n")}},
			[]string{"pkg:maven/x/x@1 "}, ""},
		{"nested archives, Spring Boot and war style", "app.jar",
			[]zipFile{manifest("Implementation-Version: 3\r\n"),
				{name: "BOOT-INF/lib/lib-2.0.jar", body: lib, store: true},
				{name: "WEB-INF/lib/inner.war", body: zipBytes(t, manifest("Implementation-Version: 4\r\n"), zipFile{name: "WEB-INF/lib/lib.jar", body: lib})},
				{name: "BOOT-INF/lib/README.txt", body: []byte("not a jar")}},
			[]string{"pkg:maven/app/app@3 ", "pkg:maven/inner/inner@4 !/WEB-INF/lib/inner.war",
				"pkg:maven/org.example/lib@2.0 !/BOOT-INF/lib/lib-2.0.jar", "pkg:maven/org.example/lib@2.0 !/WEB-INF/lib/inner.war!/WEB-INF/lib/lib.jar"}, ""},
		{"a damaged nested archive: the rest and a warning", "app.jar",
			[]zipFile{manifest("Implementation-Version: 3\r\n"), {name: "lib/bad.jar", body: []byte("PK not really")}},
			[]string{"pkg:maven/app/app@3 "}, "lib/bad.jar: not a zip archive"},
		{"a zip file: only the Java archives in it", "dist-1.0.zip",
			[]zipFile{manifest("Implementation-Version: 3\r\n"), pomProps("org.no", "no", "1"), {name: "dist/lib/lib-2.0.jar", body: lib}},
			[]string{"pkg:maven/org.example/lib@2.0 !/dist/lib/lib-2.0.jar"}, ""},
		{"not a zip", "x.jar", nil, nil, "not a zip archive"},
	}
	// The packages that are not the archive's own (Main); every archive with
	// packages has one.
	aux := map[string][]string{
		"shaded: the others are packages of their own":                              {"pkg:maven/com.google.guava/guava@31.1-jre", "pkg:maven/org.slf4j/slf4j-api@1.7.32"},
		"no pom.properties matches: the manifest's package and each pom.properties": {"pkg:maven/org.a/a@1", "pkg:maven/org.b/b@2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte("garbage")
			if tt.files != nil {
				b = zipBytes(t, tt.files...)
			}
			pkgs, err := parseJavaArchive(bytes.NewReader(b), int64(len(b)), "/srv/"+tt.file)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
			var got, gotAux []string
			mains := map[string]int{}
			for _, p := range pkgs {
				if p.Type != "maven" || p.Name == "" {
					t.Errorf("package %+v", p)
				}
				got = append(got, p.PURL+" "+p.Path)
				if p.Main {
					mains[p.Path]++
				} else {
					gotAux = append(gotAux, p.PURL)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("packages\n%q\nwant\n%q", got, tt.want)
			}
			slices.Sort(gotAux)
			if !slices.Equal(gotAux, aux[tt.name]) {
				t.Errorf("not Main: %q, want %q", gotAux, aux[tt.name])
			}
			for p, n := range mains {
				if n != 1 {
					t.Errorf("%d Main packages at %q", n, p)
				}
			}
		})
	}
}

// TestJavaLicenses: the manifest's Bundle-License first, else the
// licenses of the pom.xml beside the pom.properties, for the archive's
// own package and the others.
func TestJavaLicenses(t *testing.T) {
	pom := func(dir string, names ...string) zipFile {
		x := "<project><licenses>"
		for _, n := range names {
			x += "<license><name>" + n + "</name><url>https://x</url></license>"
		}
		return zipFile{name: "META-INF/maven/" + dir + "/pom.xml", body: []byte(x + "</licenses><dependencies><dependency><licenses><license><name>no</name></license></licenses></dependency></dependencies></project>")}
	}
	b := zipBytes(t, manifest(""), pomProps("org.a", "a", "1"), pom("org.a/a", "MIT", "Apache-2.0", "MIT"),
		pomProps("org.b", "b", "2"), pom("org.b/b", "The Apache Software License,\n  Version 2.0"),
		pomProps("org.c", "c", "3"), zipFile{name: "META-INF/maven/org.c/c/pom.xml", body: []byte("<project><licenses>")})
	pkgs, err := parseJavaArchive(bytes.NewReader(b), int64(len(b)), "/a-1.jar")
	got := map[string]string{}
	for _, p := range pkgs {
		got[p.PURL] = p.License
	}
	want := map[string]string{"pkg:maven/org.a/a@1": "MIT OR Apache-2.0", "pkg:maven/org.b/b@2": "The Apache Software License, Version 2.0", "pkg:maven/org.c/c@3": ""}
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("licenses %q, error %v; want %q", got, err, want)
	}
	b = zipBytes(t, manifest("Bundle-License: MIT;link=x\r\n"), pomProps("org.a", "a", "1"), pom("org.a/a", "Apache-2.0"))
	if pkgs, _ := parseJavaArchive(bytes.NewReader(b), int64(len(b)), "/a-1.jar"); len(pkgs) != 1 || pkgs[0].License != "MIT" {
		t.Errorf("packages %+v, want the manifest's license MIT", pkgs)
	}
}

// TestParseJavaArchiveBounded: nesting deeper than maxJarDepth, an entry
// larger than it declares, a manifest over its limit and an archive that
// declares more entries than allowed end in a warning, never a panic or an
// unbounded read.
func TestParseJavaArchiveBounded(t *testing.T) {
	t.Run("depth", func(t *testing.T) {
		b := zipBytes(t, manifest(""), pomProps("g", "level", "0"))
		for i := 1; i <= maxJarDepth+2; i++ {
			b = zipBytes(t, manifest(""), pomProps("g", "level", string(rune('0'+i))), zipFile{name: "lib/level.jar", body: b})
		}
		pkgs, err := parseJavaArchive(bytes.NewReader(b), int64(len(b)), "/level.jar")
		if len(pkgs) != maxJarDepth+1 || err == nil || !strings.Contains(err.Error(), "nested") {
			t.Errorf("%d packages, error %v; want %d and an error about the nesting", len(pkgs), err, maxJarDepth+1)
		}
	})
	t.Run("manifest over the limit", func(t *testing.T) {
		b := zipBytes(t, manifest(strings.Repeat("X-Pad: "+strings.Repeat("y", 60)+"\r\n", maxJarMetaBytes/64)))
		pkgs, err := parseJavaArchive(bytes.NewReader(b), int64(len(b)), "/big-1.0.jar")
		if len(pkgs) != 0 || err == nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("packages %+v, error %v; want none and a limit error", pkgs, err)
		}
	})
	t.Run("entry longer than declared", func(t *testing.T) {
		b := zipBytes(t, manifest("Implementation-Version: 1\r\n"))
		// The local and central headers declare the uncompressed size; shrink both.
		lie := bytes.Clone(b)
		for _, sig := range [][]byte{[]byte("PK\x03\x04"), []byte("PK\x01\x02")} {
			i := bytes.Index(lie, sig)
			off := map[string]int{"PK\x03\x04": 22, "PK\x01\x02": 24}[string(sig)]
			binary.LittleEndian.PutUint32(lie[i+off:], 3)
		}
		pkgs, err := parseJavaArchive(bytes.NewReader(lie), int64(len(lie)), "/x.jar")
		if len(pkgs) != 0 || err == nil {
			t.Errorf("packages %+v, error %v; want none and an error", pkgs, err)
		}
	})
	t.Run("too many entries declared", func(t *testing.T) {
		b := zipBytes(t, manifest(""))
		i := bytes.LastIndex(b, []byte("PK\x05\x06"))
		binary.LittleEndian.PutUint16(b[i+8:], 0xfffe)
		binary.LittleEndian.PutUint16(b[i+10:], 0xfffe)
		s := &jarScan{inflate: maxJarInflateBytes, entries: 1000}
		s.archive(bytes.NewReader(b), int64(len(b)), "x.jar", "", 0)
		if err := s.err(); err == nil || !strings.Contains(err.Error(), "65534 entries") {
			t.Errorf("error %v, want one about 65534 entries", err)
		}
	})
	t.Run("nested archive over the budget", func(t *testing.T) {
		inner := zipBytes(t, manifest(""), zipFile{name: "zeros", body: make([]byte, 2<<20), store: true})
		b := zipBytes(t, manifest(""), zipFile{name: "lib/inner.jar", body: inner}, zipFile{name: "lib/inner2.jar", body: inner})
		s := &jarScan{inflate: 3 << 20, entries: maxJarEntries}
		s.archive(bytes.NewReader(b), int64(len(b)), "x.jar", "", 0)
		if err := s.err(); err == nil || !strings.Contains(err.Error(), "lib/inner2.jar: entry of") {
			t.Errorf("error %v, want one about lib/inner2.jar over the limit", err)
		}
	})
}

// TestParseHeld: an archive over the cataloger's in-memory bound is read
// from a temporary file, which is removed.
func TestParseHeld(t *testing.T) {
	dir := t.TempDir()
	b := zipBytes(t, manifest(""), pomProps("org.example", "big", "1.0"))
	var sawFile bool
	c := &appCataloger{name: "java", holdBytes: int64(len(b)) - 1, parseAt: func(ra io.ReaderAt, size int64, p string) ([]Package, error) {
		_, sawFile = ra.(*os.File)
		return parseJavaArchive(ra, size, p)
	}}
	w := &walker{o: &options{tempDir: dir}}
	pkgs, err := w.parseHeld(c, bytes.NewReader(b), int64(len(b)), "/big.jar")
	if err != nil || len(pkgs) != 1 || pkgs[0].PURL != "pkg:maven/org.example/big@1.0" || !sawFile {
		t.Errorf("packages %+v, error %v, read from a file %v", pkgs, err, sawFile)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// debianJars are the real jars of testdata/java, as Debian installs them
// in /usr/share/java, with the links its packages add.
func debianJars(t testing.TB) []entry {
	t.Helper()
	names, err := filepath.Glob("testdata/java/*.jar")
	if err != nil || len(names) == 0 {
		t.Fatalf("testdata/java: %v", err)
	}
	slices.Sort(names)
	entries := []entry{dir("usr"), dir("usr/share"), dir("usr/share/java")}
	for _, n := range names {
		entries = append(entries, file("usr/share/java/"+filepath.Base(n), readFile(t, n)))
	}
	for _, l := range [][2]string{ // link, target
		{"commons-codec-1.15.jar", "commons-codec.jar"},
		{"commons-lang3-3.12.0.jar", "commons-lang3.jar"},
		{"slf4j-api-1.7.32.jar", "slf4j-api.jar"},
		{"slf4j-simple-1.7.32.jar", "slf4j-simple.jar"},
		{"jul-to-slf4j-1.7.32.jar", "jul-to-slf4j.jar"},
		{"hamcrest.jar", "hamcrest-2.2.jar"},
		{"hamcrest-all.jar", "hamcrest.jar"},
		{"hamcrest-core.jar", "hamcrest.jar"},
		{"hamcrest-integration.jar", "hamcrest-integration-1.3.1-SNAPSHOT.jar"},
		{"jcip-20060626.jar", "jcip-annotations-1.0.jar"},
		{"jcip.jar", "jcip-annotations-1.0.jar"},
		{"jcip-annotations.jar", "jcip-annotations-1.0.jar"},
		{"jsr305.jar", "jsr305-0.1~+svn49.jar"},
	} {
		entries = append(entries, entry{name: "usr/share/java/" + l[0], typ: tar.TypeSymlink, link: l[1]})
	}
	return entries
}

// springBootJar is a Spring Boot style executable jar assembled from the
// real jars: the application's own manifest and pom.properties, and the
// libraries stored under BOOT-INF/lib with their Maven file names.
func springBootJar(t testing.TB) []byte {
	t.Helper()
	lib := func(name, file string) zipFile {
		return zipFile{name: "BOOT-INF/lib/" + name, body: readFile(t, "testdata/java/"+file), store: true}
	}
	return zipBytes(t,
		manifest("Main-Class: org.springframework.boot.loader.launch.JarLauncher\r\nStart-Class: com.example.shop.Application\r\nSpring-Boot-Version: 3.4.1\r\nImplementation-Title: shop\r\nImplementation-Version: 1.4.0\r\n"),
		pomProps("com.example", "shop", "1.4.0"),
		zipFile{name: "BOOT-INF/classes/application.properties", body: []byte("server.port=8080\n")},
		lib("slf4j-api-1.7.32.jar", "slf4j-api.jar"),
		lib("commons-codec-1.15.jar", "commons-codec.jar"),
		lib("jsr305-0.1~+svn49.jar", "jsr305-0.1~+svn49.jar"),
		lib("hamcrest-integration-1.3.1-SNAPSHOT.jar", "hamcrest-integration-1.3.1-SNAPSHOT.jar"),
	)
}

// webArchive is a war with its libraries under WEB-INF/lib.
func webArchive(t testing.TB) []byte {
	t.Helper()
	return zipBytes(t,
		manifest("Implementation-Title: store\r\nImplementation-Version: 2.0.1\r\n"),
		zipFile{name: "WEB-INF/web.xml", body: []byte("<web-app/>\n")},
		zipFile{name: "WEB-INF/lib/jul-to-slf4j-1.7.32.jar", body: readFile(t, "testdata/java/jul-to-slf4j.jar")},
		zipFile{name: "WEB-INF/lib/slf4j-simple-1.7.32.jar", body: readFile(t, "testdata/java/slf4j-simple.jar")},
	)
}

// TestGenerateJava: the Debian jars, the Spring Boot jar and the war of
// the java fixture image are cataloged with their evidence (nested ones
// named inside their archive), a removed jar is not, and a jar over the
// per-file limit is named in a warning.
func TestGenerateJava(t *testing.T) {
	img := image(t, append(javaLayers(t, layer),
		layer(t,
			file("opt/gone.jar", zipBytes(t, manifest(""), pomProps("org.gone", "gone", "1"))),
			file("opt/big.jar", append(zipBytes(t, manifest(""), pomProps("org.big", "big", "1")), make([]byte, 4<<20)...)),
			file("opt/notes.txt", []byte("not a jar")),
		),
		layer(t, whiteout("opt/.wh.gone.jar")),
	)...)
	doc, err := Generate(t.Context(), img, WithMaxFileBytes(3<<20))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range doc.Packages() {
		if p.Type == "maven" {
			got[p.PURL+" "+p.Path] = p.License
		}
	}
	j, app, war := "/usr/share/java/", "/app/shop.jar", "/srv/store.war"
	want := map[string]string{
		"pkg:maven/org.apache.commons/commons-lang3@3.12.0 " + j + "commons-lang3.jar":                                                         "",
		"pkg:maven/commons-codec/commons-codec@1.15 " + j + "commons-codec.jar":                                                                "",
		"pkg:maven/org.slf4j/slf4j-api@1.7.32 " + j + "slf4j-api.jar":                                                                          "",
		"pkg:maven/org.slf4j/slf4j-simple@1.7.32 " + j + "slf4j-simple.jar":                                                                    "",
		"pkg:maven/org.slf4j/jul-to-slf4j@1.7.32 " + j + "jul-to-slf4j.jar":                                                                    "",
		"pkg:maven/org.hamcrest/hamcrest@2.2 " + j + "hamcrest-2.2.jar":                                                                        "",
		"pkg:maven/hamcrest-integration/hamcrest-integration@1.3.1-SNAPSHOT " + j + "hamcrest-integration-1.3.1-SNAPSHOT.jar":                  "",
		"pkg:maven/jcip-annotations/jcip-annotations@1.0 " + j + "jcip-annotations-1.0.jar":                                                    "",
		"pkg:maven/jsr305/jsr305@0.1~%2Bsvn49 " + j + "jsr305-0.1~+svn49.jar":                                                                  "",
		"pkg:maven/com.example/shop@1.4.0 " + app:                                                                                              "",
		"pkg:maven/org.slf4j/slf4j-api@1.7.32 " + app + "!/BOOT-INF/lib/slf4j-api-1.7.32.jar":                                                  "",
		"pkg:maven/commons-codec/commons-codec@1.15 " + app + "!/BOOT-INF/lib/commons-codec-1.15.jar":                                          "",
		"pkg:maven/jsr305/jsr305@0.1~%2Bsvn49 " + app + "!/BOOT-INF/lib/jsr305-0.1~+svn49.jar":                                                 "",
		"pkg:maven/hamcrest-integration/hamcrest-integration@1.3.1-SNAPSHOT " + app + "!/BOOT-INF/lib/hamcrest-integration-1.3.1-SNAPSHOT.jar": "",
		"pkg:maven/jcip-annotations/jcip-annotations@1.0 /opt/tool-1.0.zip!/tool-1.0/lib/jcip-annotations-1.0.jar":                             "",
		"pkg:maven/store/store@2.0.1 " + war:                                                                                                   "",
		"pkg:maven/org.slf4j/jul-to-slf4j@1.7.32 " + war + "!/WEB-INF/lib/jul-to-slf4j-1.7.32.jar":                                             "",
		"pkg:maven/org.slf4j/slf4j-simple@1.7.32 " + war + "!/WEB-INF/lib/slf4j-simple-1.7.32.jar":                                             "",
	}
	for k, w := range want {
		if l, ok := got[k]; !ok || l != w {
			t.Errorf("missing %s (license %q)", k, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s", k)
		}
	}
	if w := doc.Warnings(); len(w) != 1 || !strings.Contains(w[0], "/opt/big.jar") || !strings.Contains(w[0], "limit") {
		t.Errorf("warnings %q, want one about the jar over the limit", w)
	}
}

// TestBaseSBOMJava: packages found inside an archive of the base are
// dropped with the archive when a later layer deletes it.
func TestBaseSBOMJava(t *testing.T) {
	base := []v1.Layer{layer(t, file("app/shop.jar", springBootJar(t)), file("app/keep.jar", zipBytes(t, manifest(""), pomProps("org.keep", "keep", "1"))))}
	baseDoc, err := Generate(t.Context(), image(t, base...), WithCreated(fixedTime))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := baseDoc.JSON()
	verified, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	img := image(t, append(base, layer(t, whiteout("app/.wh.shop.jar")))...)
	doc, err := Generate(t.Context(), img, WithCreated(fixedTime), WithBaseSBOM(verified, 1))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range doc.Packages() {
		got = append(got, p.PURL)
	}
	if !slices.Equal(got, []string{"pkg:maven/org.keep/keep@1"}) {
		t.Errorf("packages %q, want only the kept jar's", got)
	}
}
