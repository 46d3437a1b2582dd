package contextstore

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hallmark-dev/hallmark"
)

// openExtracted is what the builder did before ReadFile: extract the
// archive, then open name through an os.Root and read the regular file.
func openExtracted(t testing.TB, archive []byte, name string, max int64) ([]byte, error) {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "ctx")
	t.Cleanup(func() { makeWritable(dest) })
	if err := ExtractTar(t.Context(), bytes.NewReader(archive), dest, ExtractLimits{MaxEntries: 64, MaxBytes: 1 << 20}); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, ErrNotRegular
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(data)) > max {
		return nil, hallmark.ErrTooLarge
	}
	return data, err
}

// makeWritable lets TempDir clean up whatever modes an archive set.
func makeWritable(dest string) {
	_ = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
}

// readStored stores archive and reads name from it with ReadFile.
func readStored(t testing.TB, archive []byte, name string, max int64) ([]byte, error) {
	t.Helper()
	s, err := New(t.TempDir(), WithExtractLimits(ExtractLimits{MaxEntries: 64, MaxBytes: 1 << 20}))
	if err != nil {
		t.Fatal(err)
	}
	// Written in place: Put's fsync would slow the fuzzer down.
	d := hallmark.SHA256(archive)
	if err := os.WriteFile(s.path(d), archive, 0o400); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadFile(t.Context(), d, name, max)
	// Again, now from the index the first call kept.
	again, aerr := s.ReadFile(t.Context(), d, name, max)
	if (err == nil) != (aerr == nil) || !bytes.Equal(got, again) {
		t.Fatalf("ReadFile(%q) = %q, %v; from the kept index %q, %v", name, got, err, again, aerr)
	}
	return got, err
}

// readPut stores archive with Put, which indexes it as it receives it,
// and reads name from it.
func readPut(t testing.TB, archive []byte, name string, max int64) ([]byte, error) {
	t.Helper()
	s, err := New(t.TempDir(), WithExtractLimits(ExtractLimits{MaxEntries: 64, MaxBytes: 1 << 20}))
	if err != nil {
		t.Fatal(err)
	}
	d, _, _, err := s.Put(t.Context(), alice, bytes.NewReader(archive), "")
	if err != nil {
		t.Fatal(err)
	}
	return s.ReadFile(t.Context(), d, name, max)
}

// sameAsExtracted fails unless ReadFile and extraction agree: the same
// bytes, or both an error. viaPut also reads what Put indexed.
func sameAsExtracted(t testing.TB, archive []byte, name string, max int64, viaPut bool) ([]byte, error) {
	t.Helper()
	got, err := readStored(t, archive, name, max)
	want, werr := openExtracted(t, archive, name, max)
	if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
		t.Fatalf("ReadFile(%q) = %q, %v; extraction and os.Root give %q, %v", name, got, err, want, werr)
	}
	if viaPut {
		put, perr := readPut(t, archive, name, max)
		if (perr == nil) != (werr == nil) || !bytes.Equal(put, want) {
			t.Fatalf("ReadFile(%q) after Put = %q, %v; extraction and os.Root give %q, %v", name, put, perr, want, werr)
		}
	}
	return got, err
}

func TestReadFile(t *testing.T) {
	const df = "FROM scratch\n"
	tests := []struct {
		name    string
		entries []ent
		path    string
		gzip    bool
		want    string // content, when wantErr is nil
		wantErr error  // a class errors.Is finds; any error if errAny
		errAny  bool
	}{
		{name: "plain", entries: []ent{tarFile("Dockerfile", df)}, path: "Dockerfile", want: df},
		{name: "gzip", entries: []ent{tarDir("app/"), tarFile("app/Dockerfile", df)}, path: "app/Dockerfile", gzip: true, want: df},
		{name: "after a padded file", entries: []ent{tarFile("a", strings.Repeat("x", 1000)), tarFile("Dockerfile", df), tarFile("z", "after")}, path: "Dockerfile", want: df},
		{name: "after a long name", entries: []ent{tarFile(strings.Repeat("n", 150), "x"), tarFile("Dockerfile", df)}, path: "Dockerfile", want: df},
		{name: "long name", entries: []ent{tarDir("d/"), tarFile("d/"+strings.Repeat("D", 150), df)}, path: "d/" + strings.Repeat("D", 150), want: df},
		{name: "replaced by a later entry", entries: []ent{tarFile("Dockerfile", "wrong"), tarFile("b", "x"), tarFile("Dockerfile", df)}, path: "Dockerfile", want: df},
		{name: "hard link", entries: []ent{tarFile("real", df), tarHardlink("Dockerfile", "real")}, path: "Dockerfile", want: df},
		{name: "empty", entries: []ent{tarFile("Dockerfile", "")}, path: "Dockerfile", want: ""},
		{name: "symlinked Dockerfile", entries: []ent{tarDir("build/"), tarFile("build/Dockerfile.prod", df), tarSymlink("Dockerfile", "build/Dockerfile.prod")}, path: "Dockerfile", want: df},
		{name: "symlink chain", entries: []ent{tarFile("real", df), tarSymlink("c", "real"), tarSymlink("b", "c"), tarSymlink("Dockerfile", "b")}, path: "Dockerfile", want: df},
		{name: "link defined before its target", entries: []ent{tarSymlink("Dockerfile", "later"), tarFile("later", df)}, path: "Dockerfile", want: df},
		{
			name: "eight links are os.Root's limit", path: "l8", want: df,
			entries: []ent{tarFile("l0", df), tarSymlink("l1", "l0"), tarSymlink("l2", "l1"), tarSymlink("l3", "l2"), tarSymlink("l4", "l3"), tarSymlink("l5", "l4"), tarSymlink("l6", "l5"), tarSymlink("l7", "l6"), tarSymlink("l8", "l7")},
		},
		{
			name: "nine are too many", path: "l9", wantErr: syscall.ELOOP,
			entries: []ent{tarFile("l0", df), tarSymlink("l1", "l0"), tarSymlink("l2", "l1"), tarSymlink("l3", "l2"), tarSymlink("l4", "l3"), tarSymlink("l5", "l4"), tarSymlink("l6", "l5"), tarSymlink("l7", "l6"), tarSymlink("l8", "l7"), tarSymlink("l9", "l8")},
		},
		{name: "symlinked parent directory", entries: []ent{tarDir("a/"), tarDir("a/b/"), tarFile("a/b/Dockerfile", df), tarSymlink("docker", "a/b")}, path: "docker/Dockerfile", want: df},
		{name: "dot-dot after a symlinked directory", entries: []ent{tarDir("a/"), tarDir("a/b/"), tarFile("a/Dockerfile", df), tarFile("Dockerfile", "wrong"), tarSymlink("s", "a/b")}, path: "s/../Dockerfile", want: df},
		{name: "link that leaves the root", entries: []ent{tarSymlink("Dockerfile", "../outside")}, path: "Dockerfile", wantErr: hallmark.ErrInvalid},
		{name: "link that leaves through another link", entries: []ent{tarDir("d/"), tarSymlink("d/up", ".."), tarSymlink("Dockerfile", "d/up/../x")}, path: "Dockerfile", wantErr: hallmark.ErrInvalid},
		{name: "absolute link", entries: []ent{tarSymlink("Dockerfile", "/etc/passwd")}, path: "Dockerfile", wantErr: hallmark.ErrInvalid},
		{name: "dangling link", entries: []ent{tarSymlink("Dockerfile", "missing")}, path: "Dockerfile", wantErr: fs.ErrNotExist},
		{name: "link target with a trailing slash", entries: []ent{tarFile("real", df), tarSymlink("Dockerfile", "real/")}, path: "Dockerfile", errAny: true},
		{name: "hard link keeps the content it linked", entries: []ent{tarFile("real", df), tarHardlink("Dockerfile", "real"), tarFile("real", "replaced")}, path: "Dockerfile", want: df},
		{name: "hard link to a replaced file", entries: []ent{tarFile("real", "first"), tarFile("real", df), tarHardlink("Dockerfile", "real")}, path: "Dockerfile", want: df},
		{name: "a later entry wins", entries: []ent{tarFile("Dockerfile", "first"), tarFile("Dockerfile", df)}, path: "Dockerfile", want: df},
		{name: "symlink replaced by a file", entries: []ent{tarFile("x", "wrong"), tarSymlink("Dockerfile", "x"), tarFile("Dockerfile", df)}, path: "Dockerfile", want: df},
		{name: "file replaced by a symlink", entries: []ent{tarFile("x", df), tarFile("Dockerfile", "wrong"), tarSymlink("Dockerfile", "x")}, path: "Dockerfile", want: df},
		{name: "file replaced by a directory", entries: []ent{tarFile("Dockerfile", df), tarDir("Dockerfile/")}, path: "Dockerfile", wantErr: ErrNotRegular},
		{name: "directory replaced by a file", entries: []ent{tarDir("Dockerfile/"), tarFile("Dockerfile", df)}, path: "Dockerfile", wantErr: hallmark.ErrInvalid},
		{name: "link to a directory", entries: []ent{tarDir("d/"), tarSymlink("Dockerfile", "d")}, path: "Dockerfile", wantErr: ErrNotRegular},
		{name: "parent is a file", entries: []ent{tarFile("f", "x"), tarFile("Dockerfile", df)}, path: "f/Dockerfile", wantErr: syscall.ENOTDIR},
		{name: "missing", entries: []ent{tarFile("Dockerfile", df)}, path: "docker/Dockerfile", wantErr: fs.ErrNotExist},
		{name: "over the limit", entries: []ent{tarFile("Dockerfile", strings.Repeat("#", 65))}, path: "Dockerfile", wantErr: hallmark.ErrTooLarge},
		{name: "exactly the limit", entries: []ent{tarFile("Dockerfile", strings.Repeat("#", 64))}, path: "Dockerfile", want: strings.Repeat("#", 64)},
		{name: "global header entries count", entries: []ent{{name: "g", typ: tar.TypeXGlobalHeader}, tarFile("a", "wrong"), tarFile("Dockerfile", df)}, path: "Dockerfile", want: df},
		{name: "refused archive", entries: []ent{tarFile("Dockerfile", df), tarFile("../escape", "x")}, path: "Dockerfile", wantErr: hallmark.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			archive := tarball(t, tc.entries...)
			if tc.gzip {
				archive = gzipped(t, archive)
			}
			got, err := sameAsExtracted(t, archive, tc.path, 64, true)
			switch {
			case tc.errAny || tc.wantErr != nil:
				if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
					t.Fatalf("ReadFile() = %q, %v; want %v", got, err, tc.wantErr)
				}
			case err != nil || string(got) != tc.want:
				t.Fatalf("ReadFile() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// sparseTar is an archive holding Dockerfile as a PAX 1.0 sparse file
// of a 5-byte hole and then content (its stored bytes are the sparse map
// and content), then b. archive/tar
// writes no sparse files, so the PAX header is written as a regular
// file's and its type changed to 'x' after.
func sparseTar(t *testing.T, content string) []byte {
	t.Helper()
	var records string
	for _, kv := range [][2]string{
		{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"},
		{"GNU.sparse.name", "Dockerfile"}, {"GNU.sparse.realsize", strconv.Itoa(5 + len(content))},
	} {
		rec := " " + kv[0] + "=" + kv[1] + "\n"
		n := len(rec) + 2 // every record here is under 100 bytes
		records += strconv.Itoa(n) + rec
	}
	sparseMap := "1\n5\n" + strconv.Itoa(len(content)) + "\n"
	stored := sparseMap + strings.Repeat("\x00", 512-len(sparseMap)) + content
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range []struct{ name, body string }{{"PaxHeaders/Dockerfile", records}, {"GNUSparseFile.0/Dockerfile", stored}, {"b", "x"}} {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(e.body)), ModTime: testTime, Format: tar.FormatUSTAR}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	b[156] = tar.TypeXHeader
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b[:512] {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// A sparse file's stored bytes are not its content: ReadFile reads it
// through the tar reader, as extraction does.
func TestReadFileSparse(t *testing.T) {
	const df = "FROM scratch\n"
	archive := sparseTar(t, df)
	got, err := sameAsExtracted(t, archive, "Dockerfile", 64, true)
	if want := "\x00\x00\x00\x00\x00" + df; err != nil || string(got) != want {
		t.Fatalf("ReadFile() = %q, %v; want %q", got, err, want)
	}
}

func TestReadFileStore(t *testing.T) {
	s, dir := newStore(t)
	if _, err := s.ReadFile(t.Context(), hallmark.SHA256([]byte("missing")), "Dockerfile", 10); !errors.Is(err, hallmark.ErrNotFound) {
		t.Errorf("ReadFile of a missing context = %v, want ErrNotFound", err)
	}
	d, _, _, err := s.Put(t.Context(), alice, bytes.NewReader(tarball(t, tarFile("Dockerfile", "FROM scratch\n"))), "")
	if err != nil {
		t.Fatal(err)
	}
	// A stored archive changed on disk is caught: by extraction, which
	// every build does after reading its Dockerfile, and by ReadFile in a
	// process that did not receive the upload (Put's index is in memory).
	p := filepath.Join(dir, "sha256", d.Hex())
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, tarball(t, tarFile("Dockerfile", "FROM evil\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Extract(t.Context(), d, t.TempDir()); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("Extract of a changed archive = %v, want corrupt", err)
	}
	other, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.ReadFile(t.Context(), d, "Dockerfile", 100); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("ReadFile of a changed archive = %v, want corrupt", err)
	}
}

// FuzzReadFile checks that ReadFile finds what extraction and os.Root find.
func FuzzReadFile(f *testing.F) {
	seeds := []struct {
		entries []ent
		name    string
	}{
		{[]ent{tarFile("Dockerfile", "FROM a")}, "Dockerfile"},
		{[]ent{tarFile("b", "x"), tarSymlink("Dockerfile", "b")}, "Dockerfile"},
		{[]ent{tarDir("a/"), tarFile("a/D", "x"), tarSymlink("l", "a"), tarSymlink("l2", "l/D")}, "l2"},
		{[]ent{tarFile("r", "1"), tarHardlink("h", "r"), tarFile("r", "2")}, "h"},
		{[]ent{tarDir("a/"), tarDir("a/b/"), tarFile("a/D", "x"), tarSymlink("s", "a/b")}, "s/../D"},
		{[]ent{tarSymlink("d", "."), tarFile("D", "x")}, "d/d/d/D"},
		{[]ent{tarFile("D", "x"), tarDir("D/")}, "D"},
		{[]ent{tarSymlink("x", "y"), tarSymlink("y", "x")}, "x"},
	}
	for _, s := range seeds {
		f.Add(tarball(f, s.entries...), s.name)
	}
	f.Fuzz(func(t *testing.T, archive []byte, name string) {
		if len(name) > 256 || strings.HasPrefix(name, "/") || strings.ContainsRune(name, 0) {
			return // the builder only asks for clean relative paths
		}
		_, _ = sameAsExtracted(t, archive, name, 256, false)
	})
}
