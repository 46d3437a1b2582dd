package devstack

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// wantEntry is what a test expects of one entry of a layer tar.
type wantEntry struct {
	name     string
	typeflag byte
	mode     int64
	uid      int
	linkname string
	contains string // substring of a regular file's contents
}

// layerEntries reads a layer back and returns its headers and the contents
// of its small regular files, keyed by name without a trailing slash.
func layerEntries(t *testing.T, l v1.Layer) (map[string]*tar.Header, map[string]string) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatalf("Uncompressed: %v", err)
	}
	defer rc.Close()
	hdrs, data := map[string]*tar.Header{}, map[string]string{}
	var names []string
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read layer: %v", err)
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		if _, dup := hdrs[name]; dup {
			t.Errorf("duplicate entry %q", name)
		}
		if !hdr.ModTime.Equal(imageEpoch) || hdr.Uname != userName(hdr.Uid) {
			t.Errorf("%s: mtime %v uname %q, want epoch and %q", name, hdr.ModTime, hdr.Uname, userName(hdr.Uid))
		}
		if parent := filepath.Dir(name); parent != "." && hdrs[parent] == nil {
			t.Errorf("%s comes before its parent directory", name)
		}
		names = append(names, name)
		hdrs[name] = hdr
		if hdr.Typeflag == tar.TypeReg && hdr.Size < 1<<20 {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("read %s: %v", name, err)
			}
			data[name] = string(b)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("layer entries are not sorted")
	}
	return hdrs, data
}

func checkEntries(t *testing.T, l v1.Layer, want []wantEntry, absent []string) {
	t.Helper()
	hdrs, data := layerEntries(t, l)
	for _, w := range want {
		hdr := hdrs[w.name]
		switch {
		case hdr == nil:
			t.Errorf("%s: missing", w.name)
		case hdr.Typeflag != w.typeflag || hdr.Mode != w.mode || hdr.Uid != w.uid || hdr.Gid != w.uid || hdr.Linkname != w.linkname:
			t.Errorf("%s: type %c mode %o owner %d:%d link %q, want %c %o %d:%d %q", w.name,
				hdr.Typeflag, hdr.Mode, hdr.Uid, hdr.Gid, hdr.Linkname, w.typeflag, w.mode, w.uid, w.uid, w.linkname)
		case !strings.Contains(data[w.name], w.contains):
			t.Errorf("%s: contents %q do not contain %q", w.name, data[w.name], w.contains)
		}
	}
	for _, name := range absent {
		if hdrs[name] != nil {
			t.Errorf("%s: present, want absent", name)
		}
	}
}

// checkImageBasics checks media types, platform and created time.
func checkImageBasics(t *testing.T, img v1.Image, layers int) *v1.ConfigFile {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatalf("Manifest: %v", err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("media types %s, %s; want OCI", m.MediaType, m.Config.MediaType)
	}
	if len(m.Layers) != layers {
		t.Fatalf("%d layers, want %d", len(m.Layers), layers)
	}
	for _, l := range m.Layers {
		if l.MediaType != types.OCILayer {
			t.Errorf("layer media type %s, want %s", l.MediaType, types.OCILayer)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("ConfigFile: %v", err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || !cf.Created.Equal(imageEpoch) {
		t.Errorf("config %s/%s created %v, want linux/%s at the epoch", cf.OS, cf.Architecture, cf.Created, runtime.GOARCH)
	}
	for _, h := range cf.History {
		if !h.Created.Equal(imageEpoch) {
			t.Errorf("history created %v, want the epoch", h.Created)
		}
	}
	return cf
}

func imageDigest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatalf("Digest: %v", err)
	}
	return d
}

func writeTestFile(t *testing.T, p, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

// testImage is a small reproducible image made of the golang image's base
// files, without a CA bundle.
func testImage(t *testing.T) v1.Image {
	t.Helper()
	o, err := newImageOptions([]ImageOption{WithCABundle("")})
	if err != nil {
		t.Fatal(err)
	}
	b := newLayerBuilder()
	if err := addBaseFiles(b, o, "/sbin/nologin", "ID=test\n"); err != nil {
		t.Fatal(err)
	}
	layer, err := b.build(gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	img, err := assembleImage(v1.Config{}, mutate.Addendum{Layer: layer, History: layerHistory("test")})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestMissingCABundle(t *testing.T) {
	o, err := newImageOptions([]ImageOption{WithCABundle(filepath.Join(t.TempDir(), "missing.crt"))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.readCABundle(); err == nil {
		t.Fatal("a missing CA bundle named by WithCABundle: no error")
	}
}
