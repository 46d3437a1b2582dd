package debian

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	hallmark "github.com/hallmark-dev/hallmark"
)

// testTime is the modification time of the synthetic packages' files.
var testTime = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// file is one entry of a synthetic data.tar.
type file struct {
	name     string // as written in the tar, e.g. "./usr/bin/x"
	typ      byte   // tar.TypeReg when 0
	mode     int64
	uid, gid int
	body     string
	link     string
	mtime    time.Time
}

// debSpec describes a synthetic .deb.
type debSpec struct {
	name, version, arch string
	compression         string // "", ".gz", ".xz", ".zst" for data.tar; control.tar is always .gz
	files               []file
	control             string // overrides the generated control file
}

// tarball writes files as a tar.
func tarball(t testing.TB, files []file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Typeflag: f.typ, Mode: f.mode, Uid: f.uid, Gid: f.gid, Linkname: f.link, ModTime: f.mtime, Format: tar.FormatGNU}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
			if hdr.Typeflag == tar.TypeDir {
				hdr.Mode = 0o755
			}
		}
		if hdr.ModTime.IsZero() {
			hdr.ModTime = testTime
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(f.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// compress compresses data with suffix's format.
func compress(t testing.TB, suffix string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var zw io.WriteCloser
	var err error
	switch suffix {
	case "":
		return data
	case ".gz":
		zw = gzip.NewWriter(&buf)
	case ".xz":
		zw, err = xz.NewWriter(&buf)
	case ".zst":
		zw, err = zstd.NewWriter(&buf)
	default:
		t.Fatalf("unknown compression %q", suffix)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// member is one ar member.
type member struct {
	name string
	data []byte
}

// arArchive writes an ar archive.
func arArchive(members ...member) []byte {
	var buf bytes.Buffer
	buf.WriteString("!<arch>\n")
	for _, m := range members {
		fmt.Fprintf(&buf, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, 1700000000, 0, 0, "100644", len(m.data))
		buf.Write(m.data)
		if len(m.data)%2 == 1 {
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

// controlFile is the control paragraph of d.
func (d debSpec) controlFile() string {
	if d.control != "" {
		return d.control
	}
	return fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Test <test@example.com>\nDescription: test package %s\n multi-line description\n", d.name, d.version, d.arch, d.name)
}

// bytes builds the .deb.
func (d debSpec) bytes(t testing.TB) []byte {
	t.Helper()
	control := tarball(t, []file{{name: "./", typ: tar.TypeDir}, {name: "./control", body: d.controlFile()}})
	return arArchive(
		member{"debian-binary", []byte("2.0\n")},
		member{"control.tar.gz", compress(t, ".gz", control)},
		member{"data.tar" + d.compression, compress(t, d.compression, tarball(t, d.files))},
	)
}

// pool writes debs into a directory and returns the plan and the paths.
func pool(t *testing.T, arch string, debs ...debSpec) (*Plan, []string) {
	t.Helper()
	dir := t.TempDir()
	plan := &Plan{Architecture: arch, Sources: []string{"http://deb.example/debian bookworm/main " + arch}}
	var paths []string
	for _, d := range debs {
		data := d.bytes(t)
		sum := sha256.Sum256(data)
		file := fmt.Sprintf("%s_%s_%s.deb", d.name, d.version, d.arch)
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		plan.Packages = append(plan.Packages, Package{
			Name: d.name, Version: d.version, Architecture: d.arch,
			URI:    "http://deb.example/debian/pool/main/" + d.name[:1] + "/" + d.name + "/" + strings.ReplaceAll(file, "+", "%2b"),
			SHA256: hallmark.Digest("sha256:" + hex.EncodeToString(sum[:])), Size: int64(len(data)),
		})
		paths = append(paths, p)
	}
	return plan, paths
}

// mustSpec parses a spec or fails the test.
func mustSpec(t *testing.T, yaml string) *Spec {
	t.Helper()
	s, err := ParseSpec([]byte(yaml))
	if err != nil {
		t.Fatalf("ParseSpec: %v", err)
	}
	return s
}

const specHeader = "apiVersion: hallmark.dev/v1\nkind: BaseImage\nmetadata: {name: test}\n"
