package contextstore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/golden"
)

var testTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// ent is one tar entry for tests.
type ent struct {
	name, body, link string
	typ              byte
	mode             int64
}

func tarFile(name, body string) ent {
	return ent{name: name, body: body, typ: tar.TypeReg, mode: 0o644}
}

func tarDir(name string) ent { return ent{name: name, typ: tar.TypeDir, mode: 0o755} }

func tarSymlink(name, target string) ent {
	return ent{name: name, link: target, typ: tar.TypeSymlink, mode: 0o777}
}

func tarHardlink(name, target string) ent {
	return ent{name: name, link: target, typ: tar.TypeLink, mode: 0o644}
}

func tarball(t testing.TB, entries ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode,
			Size: int64(len(e.body)), ModTime: testTime, Format: tar.FormatPAX,
		}
		if e.typ == tar.TypeXGlobalHeader {
			hdr = &tar.Header{Name: e.name, Typeflag: e.typ, PAXRecords: map[string]string{"comment": "global"}}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("write header %q: %v", e.name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatalf("write %q: %v", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// listTree describes every path under root, one line each, sorted.
func listTree(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%v %s", fi.Mode(), filepath.ToSlash(rel))
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case fi.Mode().IsRegular():
			body, _ := os.ReadFile(p)
			line += fmt.Sprintf(" %q", body)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			line += " " + fi.ModTime().UTC().Format(time.RFC3339)
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

func TestExtractTarGolden(t *testing.T) {
	archive := tarball(t,
		tarDir("src/"),
		tarFile("src/main.go", "package main\n"),
		ent{name: "bin/run.sh", body: "#!/bin/sh\n", typ: tar.TypeReg, mode: 0o4755}, // setuid dropped
		tarDir("bin/"), // after its file: created implicitly, its time set last
		ent{name: "ro/", typ: tar.TypeDir, mode: 0o555}, // applied after its contents
		tarFile("ro/inside", "x"),
		tarSymlink("src/link", "main.go"),
		tarSymlink("up", "src/../bin/run.sh"),
		tarHardlink("src/hard", "src/main.go"),
		tarFile("a/../b.txt", "cleaned"),
		tarFile("dup", "first"),
		tarFile("dup", "second"),
		tarSymlink("replaced", "src"),
		tarFile("replaced", "file now"),
		ent{name: "./", typ: tar.TypeDir, mode: 0o700},
		ent{name: "glob", typ: tar.TypeXGlobalHeader},
	)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"plain", archive},
		{"gzip", gzipped(t, archive)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "ctx")
			if err := ExtractTar(t.Context(), bytes.NewReader(tc.data), dest, ExtractLimits{}); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "extract.golden"), []byte(listTree(t, dest)))
			t.Cleanup(func() { _ = os.Chmod(filepath.Join(dest, "ro"), 0o755) })
		})
	}
}

func TestExtractTarRejects(t *testing.T) {
	big := strings.Repeat("x", 4096)
	tests := []struct {
		name    string
		entries []ent
		limits  ExtractLimits
		want    error
		msg     string
	}{
		{"absolute path", []ent{tarFile("/etc/passwd", "x")}, ExtractLimits{}, hallmark.ErrInvalid, `"/etc/passwd": absolute path`},
		{"dotdot", []ent{tarFile("../evil", "x")}, ExtractLimits{}, hallmark.ErrInvalid, `"../evil": path escapes`},
		{"nested dotdot", []ent{tarFile("a/../../evil", "x")}, ExtractLimits{}, hallmark.ErrInvalid, "path escapes"},
		{"absolute symlink", []ent{tarSymlink("l", "/etc")}, ExtractLimits{}, hallmark.ErrInvalid, `"l": symlink target "/etc" is absolute`},
		{"escaping symlink", []ent{tarSymlink("a/l", "../../etc")}, ExtractLimits{}, hallmark.ErrInvalid, "escapes"},
		{"empty symlink", []ent{tarSymlink("l", "")}, ExtractLimits{}, hallmark.ErrInvalid, "no target"},
		{"symlink chain escape", []ent{
			tarDir("a/"), tarSymlink("a/up", ".."), tarSymlink("a/up2", "up/.."),
		}, ExtractLimits{}, hallmark.ErrInvalid, `"a/up2": symlink target "up/.." escapes`},
		{"symlink loop", []ent{tarSymlink("x", "y"), tarSymlink("y", "x")}, ExtractLimits{}, hallmark.ErrInvalid, "too many levels"},
		{"write through symlink", []ent{
			tarDir("sub/"), tarSymlink("link", "sub"), tarFile("link/f", "x"),
		}, ExtractLimits{}, hallmark.ErrInvalid, `"link/f": parent "link" is a symlink`},
		{"file as parent", []ent{tarFile("f", "x"), tarFile("f/g", "y")}, ExtractLimits{}, hallmark.ErrInvalid, "not a directory"},
		{"file replaces dir", []ent{tarDir("d/"), tarFile("d", "x")}, ExtractLimits{}, hallmark.ErrInvalid, "would replace a directory"},
		{"hardlink escape", []ent{tarHardlink("h", "../../etc/passwd")}, ExtractLimits{}, hallmark.ErrInvalid, "hardlink target"},
		{"hardlink absolute", []ent{tarHardlink("h", "/etc/passwd")}, ExtractLimits{}, hallmark.ErrInvalid, "hardlink target"},
		{"hardlink to symlink", []ent{tarDir("a/b/"), tarSymlink("a/b/l", "../x"), tarHardlink("l2", "a/b/l")}, ExtractLimits{}, hallmark.ErrInvalid, "not a regular file"},
		{"hardlink to missing", []ent{tarHardlink("h", "nothing")}, ExtractLimits{}, hallmark.ErrInvalid, "not a regular file"},
		{"char device", []ent{{name: "null", typ: tar.TypeChar, mode: 0o666}}, ExtractLimits{}, hallmark.ErrInvalid, `"null": device and fifo`},
		{"block device", []ent{{name: "sda", typ: tar.TypeBlock, mode: 0o666}}, ExtractLimits{}, hallmark.ErrInvalid, "device and fifo"},
		{"fifo", []ent{{name: "p", typ: tar.TypeFifo, mode: 0o666}}, ExtractLimits{}, hallmark.ErrInvalid, "device and fifo"},
		{"too many entries", []ent{tarFile("a", ""), tarFile("b", ""), tarFile("c", "")}, ExtractLimits{MaxEntries: 2}, hallmark.ErrTooLarge, "limit of 2 entries"},
		{"too many bytes", []ent{tarFile("a", big), tarFile("b", big)}, ExtractLimits{MaxBytes: 6000}, hallmark.ErrTooLarge, "limit of 6000 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "ctx")
			err := ExtractTar(t.Context(), bytes.NewReader(tarball(t, tc.entries...)), dest, tc.limits)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ExtractTar() = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			assertNothingOutside(t, parent, "ctx")
		})
	}
}

func TestExtractTarGzipBomb(t *testing.T) {
	zeros := make([]byte, 8<<20)
	data := gzipped(t, tarball(t, ent{name: "zeros", body: string(zeros), typ: tar.TypeReg, mode: 0o644}))
	if len(data) > 64<<10 {
		t.Fatalf("test archive is %d bytes compressed, expected a small bomb", len(data))
	}
	err := ExtractTar(t.Context(), bytes.NewReader(data), t.TempDir(), ExtractLimits{MaxBytes: 1 << 20})
	if !errors.Is(err, hallmark.ErrTooLarge) {
		t.Fatalf("ExtractTar() = %v, want ErrTooLarge", err)
	}
}

func TestExtractTarMalformed(t *testing.T) {
	valid := tarball(t, tarFile("a", strings.Repeat("y", 2000)))
	tests := []struct {
		name string
		data []byte
	}{
		{"truncated tar", valid[:700]},
		{"garbage", bytes.Repeat([]byte{0xde, 0xad}, 600)},
		{"bad gzip", []byte{0x1f, 0x8b, 0x00, 0x01, 0x02}},
		{"truncated gzip", gzipped(t, valid)[:40]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ExtractTar(t.Context(), bytes.NewReader(tc.data), t.TempDir(), ExtractLimits{})
			if !errors.Is(err, hallmark.ErrInvalid) {
				t.Fatalf("ExtractTar() = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestExtractTarEmpty(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "new")
	if err := ExtractTar(t.Context(), bytes.NewReader(tarball(t)), dest, ExtractLimits{}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dest); err != nil || !fi.IsDir() {
		t.Fatalf("dest not created: %v", err)
	}
}

func TestExtractTarCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := ExtractTar(ctx, bytes.NewReader(tarball(t, tarFile("a", "b"))), t.TempDir(), ExtractLimits{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ExtractTar() = %v, want context.Canceled", err)
	}
}

// assertNothingOutside checks that parent holds only the given names, so an
// extraction into parent/<name> wrote nothing beside it.
func assertNothingOutside(t testing.TB, parent string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	sort.Strings(got)
	sort.Strings(names)
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("%s holds %v, want only %v", parent, got, names)
	}
}

// assertLinksInside checks every symlink under dest with the standard
// library's own rule: following it through an os.Root must not escape.
func assertLinksInside(t testing.TB, dest string) {
	t.Helper()
	root, err := os.OpenRoot(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	err = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return err
		}
		rel, _ := filepath.Rel(dest, p)
		target, _ := os.Readlink(p)
		if filepath.IsAbs(target) {
			t.Errorf("symlink %s has absolute target %q", rel, target)
		}
		if _, err := root.Stat(rel); err != nil && strings.Contains(err.Error(), "escapes") {
			t.Errorf("symlink %s -> %q escapes dest: %v", rel, target, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func FuzzExtractTar(f *testing.F) {
	seeds := [][]ent{
		{tarFile("a", "b"), tarDir("d/"), tarFile("d/e", "f")},
		{tarDir("a/"), tarSymlink("a/up", ".."), tarSymlink("a/up2", "up/..")},
		{tarDir("sub/"), tarSymlink("link", "sub"), tarFile("link/f", "x")},
		{tarSymlink("l", "/etc"), tarFile("../x", "y")},
		{tarDir("a/b/"), tarSymlink("a/b/l", "../x"), tarHardlink("l2", "a/b/l")},
		{tarSymlink("x", "y"), tarSymlink("y", "x"), tarHardlink("h", "x")},
		{tarSymlink("d", "."), tarSymlink("d/e", "..")},
		{tarFile("f", "x"), tarSymlink("f", "../f"), tarDir("f/")},
	}
	for _, s := range seeds {
		f.Add(tarball(f, s...))
		f.Add(gzipped(f, tarball(f, s...)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dest := filepath.Join(parent, "ctx")
		if err := os.WriteFile(filepath.Join(parent, "outside"), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		_ = ExtractTar(t.Context(), bytes.NewReader(data), dest, ExtractLimits{MaxEntries: 64, MaxBytes: 1 << 20})
		assertNothingOutside(t, parent, "ctx", "outside")
		if b, err := os.ReadFile(filepath.Join(parent, "outside")); err != nil || string(b) != "keep" {
			t.Fatalf("file beside dest changed: %q, %v", b, err)
		}
		assertLinksInside(t, dest)
		// Let TempDir clean up whatever modes the archive set.
		_ = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
	})
}
