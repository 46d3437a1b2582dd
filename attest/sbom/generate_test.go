package sbom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/package-url/packageurl-go"
	spdxjson "github.com/spdx/tools-golang/json"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/golden"
)

// TestGolden compares the SPDX JSON of small fixture images, created at a
// fixed time, with testdata/golden (go test -run Golden -update rewrites):
// an Alpine and a distroless image, and one of nested packages (a jar in a
// jar, crates in an executable) with their CONTAINS relationships.
func TestGolden(t *testing.T) {
	tests := []struct {
		name      string
		imageName string
		layers    []v1.Layer
	}{
		{"alpine", "registry.example/hallmark/alpine:3.20", alpineLayers(t, plainLayer)},
		{"distroless", "registry.example/distroless/base-debian12:nonroot", distrolessLayers(t, plainLayer)},
		{"contain", "registry.example/hallmark/contain:1", containLayers(t, plainLayer)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Generate(t.Context(), image(t, tt.layers...), WithImageName(tt.imageName), WithCreated(fixedTime), WithToolVersion("v0.0.0-test"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := doc.JSON()
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, b, "", "  "); err != nil {
				t.Fatal(err)
			}
			got.WriteByte('\n')
			path := filepath.Join("testdata", "golden", tt.name+".spdx.json")
			golden.Check(t, path, got.Bytes())
		})
	}
}

func TestGenerateAllEcosystems(t *testing.T) {
	img := fixtureImages(t)["all"]
	doc, err := Generate(t.Context(), img, WithImageName("registry.example/app:1"), WithToolVersion("v1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	s := doc.Summary()
	want := map[string]int{"deb": 726, "apk": 14, "rpm": 39, "golang": 5}
	for typ, n := range want {
		if s.ByType[typ] != n {
			t.Errorf("%d %s packages, want %d (summary %+v)", s.ByType[typ], typ, n, s)
		}
	}
	if s.Packages != 726+14+39+5 || s.Warnings != 0 || s.EvidenceOmitted {
		t.Errorf("summary %+v, warnings %q", s, doc.Warnings())
	}
	// The document is valid SPDX 2.3 and reads back.
	b, err := doc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	read, err := spdxjson.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(read); err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	if got, want := read.DocumentNamespace, "https://hallmark.dev/spdx/sha256/"+digest.Hex+"/hallmark-v1.0.0"; got != want {
		t.Errorf("namespace = %s, want %s", got, want)
	}
	if got := read.CreationInfo.Created; got != fixedTime.Format("2006-01-02T15:04:05Z") {
		t.Errorf("created = %s, want the image's creation time", got)
	}
	root := read.Packages[0]
	if root.PackageVersion != digest.String() || root.PackageExternalReferences[0].Locator != "pkg:oci/app@sha256%3A"+digest.Hex+"?repository_url=registry.example/app" {
		t.Errorf("root package %s %s %s", root.PackageName, root.PackageVersion, root.PackageExternalReferences[0].Locator)
	}
	// DESCRIBES, the image CONTAINS every package, and the Go executable's
	// main module CONTAINS its other modules and the standard library.
	if want := 1 + s.Packages + s.ByType["golang"] - 1; len(read.Relationships) != want {
		t.Errorf("%d relationships, want %d", len(read.Relationships), want)
	}
	// Every package has evidence and a sorted, unique SPDXID.
	var prev string
	for _, p := range doc.Packages() {
		if p.Path == "" || p.Layer == "" || p.SPDXID <= prev {
			t.Fatalf("package %+v (after %s)", p, prev)
		}
		prev = p.SPDXID
	}
	// The same image gives the same document.
	again, err := Generate(t.Context(), img, WithImageName("registry.example/app:1"), WithToolVersion("v1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	if b2, _ := again.JSON(); !bytes.Equal(b, b2) {
		t.Error("two documents of one image differ")
	}
	// Parse reads it back.
	parsed, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Digest() != doc.Digest() || len(parsed.Packages()) != s.Packages || len(parsed.Layers()) != len(doc.Layers()) {
		t.Errorf("parsed %s with %d packages", parsed.Digest(), len(parsed.Packages()))
	}
	for i, p := range parsed.Packages() {
		if p != doc.packages[i] {
			t.Fatalf("parsed package %d = %+v, want %+v", i, p, doc.packages[i])
		}
	}
}

func TestDocumentSizeLimit(t *testing.T) {
	img := fixtureImages(t)["debian"]
	full, err := Generate(t.Context(), img, WithCreated(fixedTime))
	if err != nil {
		t.Fatal(err)
	}
	fullJSON, _ := full.JSON()
	// Just under the full size: evidence goes, packages stay.
	doc, err := Generate(t.Context(), img, WithCreated(fixedTime), WithMaxDocumentBytes(int64(len(fullJSON)-1)))
	if err != nil {
		t.Fatal(err)
	}
	s := doc.Summary()
	b, _ := doc.JSON()
	if !s.EvidenceOmitted || s.Packages != full.Summary().Packages || len(b) >= len(fullJSON) ||
		!strings.Contains(doc.SPDX().DocumentComment, "evidence annotations (layer and file) were omitted") {
		t.Fatalf("summary %+v, %d bytes, comment %q", s, len(b), doc.SPDX().DocumentComment)
	}
	parsed, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.reusableFor(parsed.Layers(), len(parsed.Layers())) == "" {
		t.Error("a document without evidence is reusable as a base SBOM")
	}
	// Under the size without evidence: an error, never a truncated document.
	_, err = Generate(t.Context(), img, WithCreated(fixedTime), WithMaxDocumentBytes(int64(len(b)/2)))
	if !errors.Is(err, hallmark.ErrTooLarge) {
		t.Fatalf("error = %v, want ErrTooLarge", err)
	}
}

func TestLimits(t *testing.T) {
	img := fixtureImages(t)["debian"]
	tests := []struct {
		name    string
		opt     Option
		wantErr error
		warning string
		types   map[string]int
	}{
		{"layer bytes", WithMaxLayerBytes(100 << 10), hallmark.ErrTooLarge, "", nil},
		{"entries", WithMaxEntries(5), hallmark.ErrTooLarge, "", nil},
		{"file bytes", WithMaxFileBytes(100 << 10), nil, "/var/lib/dpkg/status in layer", map[string]int{"golang": 5}},
		{"binary bytes", WithMaxBinaryBytes(100 << 10), nil, "skip executable /usr/local/bin/hello", map[string]int{"deb": 726}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Generate(t.Context(), img, tt.opt)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w := doc.Warnings()
			if len(w) != 1 || !strings.Contains(w[0], tt.warning) || !strings.Contains(doc.SPDX().DocumentComment, "Warning: "+w[0]) {
				t.Errorf("warnings %q, want one with %q in the comment", w, tt.warning)
			}
			if got := doc.Summary().ByType; len(got) != len(tt.types) || got["deb"] != tt.types["deb"] || got["golang"] != tt.types["golang"] {
				t.Errorf("packages by type %v, want %v", got, tt.types)
			}
		})
	}
}

func TestGenerateBadInput(t *testing.T) {
	tests := []struct {
		name    string
		layers  func(t *testing.T) []v1.Layer
		wantErr string
		warning string
	}{
		{"file larger than its layer", func(t *testing.T) []v1.Layer {
			return []v1.Layer{layer(t, entry{name: "var/lib/dpkg/status", body: []byte("Package: a\n"), size: 1 << 30})}
		}, "unexpected EOF", ""},
		{"not a tar", func(t *testing.T) []v1.Layer {
			return []v1.Layer{rawLayer(t, []byte("this is not a tar archive, although it is long enough to look like a header block"))}
		}, "read tar of layer", ""},
		{"damaged apk database", func(t *testing.T) []v1.Layer {
			return []v1.Layer{layer(t, file("lib/apk/db/installed", []byte("P:a\nV:1\n\n\x00\x01garbage\n\nP:b\nV:2\n")))}
		}, "", "parse apk installed: line 4: not a field"},
		{"damaged rpm database", func(t *testing.T) []v1.Layer {
			return []v1.Layer{layer(t, file("var/lib/rpm/Packages", []byte("neither sqlite nor ndb nor bdb")))}
		}, "", "unknown rpm database format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Generate(t.Context(), image(t, tt.layers(t)...))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w := doc.Warnings(); len(w) != 1 || !strings.Contains(w[0], tt.warning) {
				t.Fatalf("warnings %q, want %q", w, tt.warning)
			}
		})
	}
}

func TestGenerateCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Generate(ctx, fixtureImages(t)["alpine"])
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

// TestWithLoggerNil: nil for a logger is an error, as for every package's
// WithLogger.
func TestWithLoggerNil(t *testing.T) {
	if _, err := Generate(t.Context(), empty.Image, WithLogger(nil)); !errors.Is(err, hallmark.ErrInvalid) {
		t.Fatalf("Generate with a nil logger = %v, want ErrInvalid", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, opt := range []Option{WithMaxDocumentBytes(0), WithMaxLayerBytes(-1), WithMaxEntries(0), WithToolVersion(""), WithBaseSBOM(nil, 1), WithLogger(nil)} {
		if _, err := Generate(t.Context(), fixtureImages(t)["alpine"], opt); err == nil {
			t.Error("an invalid option was accepted")
		}
	}
}

// rawLayer is a layer whose uncompressed content is b.
func rawLayer(t *testing.T, b []byte) v1.Layer {
	t.Helper()
	l, err := tarballLayer(b)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// countingLayer counts how often its content is read.
type countingLayer struct {
	v1.Layer
	reads *int
}

func (l countingLayer) Uncompressed() (io.ReadCloser, error) {
	*l.reads++
	return l.Layer.Uncompressed()
}

func TestBaseSBOM(t *testing.T) {
	const d = "var/lib/dpkg/status.d/"
	base := []v1.Layer{
		layer(t, file("etc/os-release", []byte("ID=debian\nVERSION_ID=12\n")), statusD("a", "1"), statusD("b", "1"), statusD("c", "1")),
		layer(t, exe("usr/local/bin/hello", readFile(t, helloBinary(t)))),
	}
	baseDoc, err := Generate(t.Context(), image(t, base...), WithCreated(fixedTime))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := baseDoc.JSON()
	verified, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	var reads int
	added := layer(t, whiteout(d+".wh.b"), statusD("d", "1"), whiteout("usr/local/bin/.wh.hello"), exe("usr/local/bin/hello2", readFile(t, helloBinary(t))))
	img, err := mutate.AppendLayers(image(t, countingLayer{base[0], &reads}, countingLayer{base[1], &reads}), added)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Generate(t.Context(), img, WithCreated(fixedTime), WithBaseSBOM(verified, 2))
	if err != nil {
		t.Fatal(err)
	}
	if reads != 0 {
		t.Errorf("base layers were read %d times", reads)
	}
	full, err := Generate(t.Context(), img, WithCreated(fixedTime))
	if err != nil {
		t.Fatal(err)
	}
	got, want := doc.Packages(), full.Packages()
	if len(got) != len(want) {
		t.Fatalf("%d packages with the base SBOM, %d without", len(got), len(want))
	}
	fromBase := 0
	for i := range got {
		if got[i].FromBase != "" {
			fromBase++
			if got[i].FromBase != baseDoc.Digest() {
				t.Errorf("%s from base %s", got[i].Name, got[i].FromBase)
			}
		}
		got[i].FromBase = ""
		if got[i] != want[i] {
			t.Errorf("package %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if s := doc.Summary(); fromBase != 2 || s.FromBase != 2 || !strings.Contains(doc.SPDX().DocumentComment, "2 packages were copied from its verified SBOM "+baseDoc.Digest().String()) {
		t.Errorf("%d packages from base, summary %+v, comment %q", fromBase, s, doc.SPDX().DocumentComment)
	}
	for _, p := range doc.SPDX().Packages {
		if p.PackageName == "a" && p.PackageComment != "from verified base SBOM "+baseDoc.Digest().String() {
			t.Errorf("comment of a = %q", p.PackageComment)
		}
	}
	// A base SBOM of other layers is not used.
	doc, err = Generate(t.Context(), img, WithBaseSBOM(verified, 1))
	if err != nil {
		t.Fatal(err)
	}
	if w := doc.Warnings(); len(w) != 1 || !strings.Contains(w[0], "not reused: it describes 2 layers, not 1") || doc.Summary().FromBase != 0 || len(doc.Packages()) != len(want) {
		t.Errorf("warnings %q, summary %+v", w, doc.Summary())
	}
}

func TestOCIPURL(t *testing.T) {
	d := hallmark.Digest("sha256:" + strings.Repeat("ab", 32))
	tests := []struct{ name, want string }{
		{"registry.example:5000/team/App:1.0", "pkg:oci/app@sha256%3A" + d.Hex() + "?repository_url=registry.example:5000/team/App"},
		{"ghcr.io/o/r@sha256:" + strings.Repeat("0", 64), "pkg:oci/r@sha256%3A" + d.Hex() + "?repository_url=ghcr.io/o/r"},
		{"localhost/x y", "pkg:oci/x%20y@sha256%3A" + d.Hex() + "?repository_url=localhost/x%20y"},
		{"", "pkg:oci/image@sha256%3A" + d.Hex()},
	}
	for _, tt := range tests {
		got := ociPURL(tt.name, d)
		if got != tt.want {
			t.Errorf("ociPURL(%q) = %s, want %s", tt.name, got, tt.want)
		}
		if _, err := packageurl.FromString(got); err != nil {
			t.Errorf("ociPURL(%q) = %s does not parse: %v", tt.name, got, err)
		}
	}
}
