package sbom

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fixedTime is the creation time of fixture images and documents.
var fixedTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// entry is one tar entry of a fixture layer.
type entry struct {
	name string
	body []byte
	mode int64 // default 0o644, or 0o755 for dirs
	typ  byte  // default tar.TypeReg
	link string
	size int64 // if set, the header claims this size instead of len(body)
}

func file(name string, body []byte) entry { return entry{name: name, body: body} }
func exe(name string, body []byte) entry  { return entry{name: name, body: body, mode: 0o755} }
func dir(name string) entry               { return entry{name: name, typ: tar.TypeDir} }
func whiteout(name string) entry          { return entry{name: name} }

// tarBytes writes entries as an uncompressed tar stream.
func tarBytes(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: e.typ, Linkname: e.link, Size: int64(len(e.body)), ModTime: fixedTime, Format: tar.FormatPAX}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
			if hdr.Typeflag == tar.TypeDir {
				hdr.Mode = 0o755
			}
		}
		if hdr.Typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if e.size != 0 {
			hdr.Size = e.size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.body); err != nil && e.size == 0 {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Flush(); err != nil && !strings.Contains(err.Error(), "missed writing") {
		t.Fatal(err)
	}
	return buf.Bytes() // without the end-of-archive blocks, which layer adds
}

// layer builds a gzip-compressed layer, as registries serve them.
func layer(t testing.TB, entries ...entry) v1.Layer {
	t.Helper()
	raw := tarBytes(t, entries...)
	raw = append(raw, make([]byte, 1024)...) // end of archive
	l, err := tarballLayer(raw)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// layerFunc makes a layer from tar entries.
type layerFunc func(t testing.TB, entries ...entry) v1.Layer

// plainLayer builds an uncompressed layer, whose digest does not depend on
// the gzip implementation: golden files use it.
func plainLayer(t testing.TB, entries ...entry) v1.Layer {
	t.Helper()
	raw := append(tarBytes(t, entries...), make([]byte, 1024)...)
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return &uncompressed{raw: raw, digest: h}
}

// uncompressed is a layer stored as a plain tar.
type uncompressed struct {
	raw    []byte
	digest v1.Hash
}

func (l *uncompressed) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *uncompressed) DiffID() (v1.Hash, error) { return l.digest, nil }
func (l *uncompressed) Size() (int64, error)     { return int64(len(l.raw)), nil }
func (l *uncompressed) MediaType() (types.MediaType, error) {
	return types.OCIUncompressedLayer, nil
}
func (l *uncompressed) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.raw)), nil
}
func (l *uncompressed) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.raw)), nil
}

// tarballLayer is a gzip-compressed layer whose uncompressed content is raw.
func tarballLayer(raw []byte) (v1.Layer, error) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	b := gz.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

// image stacks layers, bottom first, into an image created at fixedTime.
func image(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.CreatedAt(img, v1.Time{Time: fixedTime})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// testdata reads testdata/name, gunzipping names that end in ".gz".
func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Ext(name) != ".gz" {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMain(m *testing.M) {
	code := m.Run()
	if helloBuild.path != "" {
		os.RemoveAll(filepath.Dir(helloBuild.path))
	}
	os.Exit(code)
}

var helloBuild struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// helloBinary builds (once per test process) a small Go program whose
// build information has a versioned dependency, a module replaced by
// another version and one replaced by a local directory, all vendored so
// that no network is needed. It returns the executable's path.
func helloBinary(t testing.TB) string {
	t.Helper()
	helloBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "hallmark-sbom-gobin-")
		if err != nil {
			helloBuild.err = err
			return
		}
		for name, body := range helloModule {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				helloBuild.err = err
				return
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				helloBuild.err = err
				return
			}
		}
		helloBuild.path = filepath.Join(dir, "hello")
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-buildid=", "-o", helloBuild.path, ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOPROXY=off", "GOFLAGS=-mod=vendor", "CGO_ENABLED=0", "GOWORK=off", "GOOS=linux")
		helloBuild.out, helloBuild.err = cmd.CombinedOutput()
	})
	if helloBuild.err != nil {
		t.Fatalf("build hello: %v\n%s", helloBuild.err, helloBuild.out)
	}
	return helloBuild.path
}

var helloModule = map[string]string{
	"go.mod": `module example.com/hello

go 1.26

require (
	example.com/lib v1.2.3
	example.com/local v0.0.0
	example.com/old v1.0.0
)

replace example.com/old v1.0.0 => example.com/new v1.1.0

replace example.com/local => ./local
`,
	"vendor/modules.txt": `# example.com/lib v1.2.3
## explicit; go 1.22
example.com/lib
# example.com/local v0.0.0 => ./local
## explicit; go 1.22
example.com/local
# example.com/old v1.0.0 => example.com/new v1.1.0
## explicit; go 1.22
example.com/old
# example.com/local => ./local
# example.com/old v1.0.0 => example.com/new v1.1.0
`,
	"vendor/example.com/lib/lib.go":     "package lib\n\nfunc Hello() string { return \"lib\" }\n",
	"vendor/example.com/old/old.go":     "package old\n\nfunc Hello() string { return \"old\" }\n",
	"vendor/example.com/local/local.go": "package local\n\nfunc Hello() string { return \"local\" }\n",
	"local/go.mod":                      "module example.com/local\n\ngo 1.22\n",
	"local/local.go":                    "package local\n\nfunc Hello() string { return \"local\" }\n",
	"main.go": `package main

import (
	"os"

	"example.com/lib"
	"example.com/local"
	"example.com/old"
)

func main() { os.Stdout.WriteString(lib.Hello() + old.Hello() + local.Hello() + "\n") }
`,
}

// readFile reads a file of the host.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseCase is one row of a table test of an application cataloger's
// parser: its input, and the one package it must yield (purl and license),
// or none when wantPURL is empty.
type parseCase struct {
	name, in              string
	wantPURL, wantLicense string
	wantErr               bool
}

// runParseCases runs parse on each case and checks the error and the
// package, which must be of purl type typ.
func runParseCases(t *testing.T, typ string, parse func(io.Reader, int64) ([]Package, error), cases []parseCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			pkgs, err := parse(strings.NewReader(tt.in), int64(len(tt.in)))
			if (err != nil) != tt.wantErr {
				t.Errorf("error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantPURL == "" {
				if len(pkgs) != 0 {
					t.Errorf("packages = %+v, want none", pkgs)
				}
				return
			}
			if len(pkgs) != 1 || pkgs[0].PURL != tt.wantPURL || pkgs[0].License != tt.wantLicense || pkgs[0].Type != typ {
				t.Errorf("packages = %+v, want %s license %q", pkgs, tt.wantPURL, tt.wantLicense)
			}
		})
	}
}
