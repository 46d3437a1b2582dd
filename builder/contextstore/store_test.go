package contextstore

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hallmark-dev/hallmark"
)

var (
	alice = hallmark.Identity{Issuer: "https://issuer.example", Subject: "alice"}
	bob   = hallmark.Identity{Issuer: "https://issuer.example", Subject: "bob"}
)

func newStore(t *testing.T, opts ...Option) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := New(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func TestStorePut(t *testing.T) {
	content := []byte("some context bytes")
	d := hallmark.SHA256(content)
	other := hallmark.SHA256([]byte("other"))
	tests := []struct {
		name     string
		expected hallmark.Digest
		max      int64
		want     error
		msg      string
	}{
		{name: "no expected digest"},
		{name: "matching digest", expected: d},
		{name: "mismatch", expected: other, want: hallmark.ErrInvalid, msg: "not the expected " + string(other)},
		{name: "malformed expected", expected: "md5:abc", want: hallmark.ErrInvalid, msg: "not sha256"},
		{name: "too large", max: 5, want: hallmark.ErrTooLarge, msg: "limit of 5 bytes"},
		{name: "exactly the limit", max: int64(len(content))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts []Option
			if tc.max > 0 {
				opts = append(opts, WithMaxArchiveBytes(tc.max))
			}
			s, dir := newStore(t, opts...)
			got, size, existed, err := s.Put(t.Context(), alice, bytes.NewReader(content), tc.expected)
			if tc.want != nil {
				if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("Put() error = %v, want %v containing %q", err, tc.want, tc.msg)
				}
				if s.Lookup(t.Context(), alice, d) == nil {
					t.Error("rejected content was stored")
				}
				assertEmptyDir(t, filepath.Join(dir, "tmp"))
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != d || size != int64(len(content)) || existed {
				t.Fatalf("Put() = %s, %d, %v; want %s, %d, false", got, size, existed, d, len(content))
			}
			if err := s.Lookup(t.Context(), alice, d); err != nil {
				t.Fatalf("Lookup() after Put = %v", err)
			}
			rc, err := s.Open(d)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if b, _ := io.ReadAll(rc); !bytes.Equal(b, content) {
				t.Fatalf("Open() read %q", b)
			}
			if _, err := os.Stat(filepath.Join(dir, "sha256", d.Hex())); err != nil {
				t.Fatalf("archive not at dir/sha256/<hex>: %v", err)
			}
			assertEmptyDir(t, filepath.Join(dir, "tmp"))

			// Putting it again is idempotent.
			got, size, existed, err = s.Put(t.Context(), alice, bytes.NewReader(content), tc.expected)
			if err != nil || got != d || size != int64(len(content)) || !existed {
				t.Fatalf("second Put() = %s, %d, %v, %v; want existed", got, size, existed, err)
			}
		})
	}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("%s holds %d leftover files", dir, len(entries))
	}
}

func TestStoreConcurrentPut(t *testing.T) {
	s, _ := newStore(t)
	content := bytes.Repeat([]byte("concurrent "), 10000)
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		errs    []error
	)
	for range n {
		wg.Go(func() {
			d, _, existed, err := s.Put(t.Context(), alice, bytes.NewReader(content), "")
			mu.Lock()
			defer mu.Unlock()
			if err != nil || d != hallmark.SHA256(content) {
				errs = append(errs, err)
			}
			if !existed {
				created++
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent Put errors: %v", errs)
	}
	if created != 1 {
		t.Fatalf("%d Puts created the archive, want exactly 1", created)
	}
}

func TestStoreMissing(t *testing.T) {
	s, _ := newStore(t)
	d := hallmark.SHA256([]byte("never stored"))
	if err := s.Lookup(t.Context(), alice, d); !errors.Is(err, hallmark.ErrNotFound) {
		t.Errorf("Lookup() = %v for a missing digest, want ErrNotFound", err)
	}
	if err := s.Lookup(t.Context(), alice, "sha256:../../etc"); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("Lookup() = %v for a malformed digest, want ErrInvalid", err)
	}
	if _, err := s.Open(d); !errors.Is(err, hallmark.ErrNotFound) {
		t.Errorf("Open() = %v, want ErrNotFound", err)
	}
	if _, err := s.Open("sha256:../../etc/passwd"); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("Open(malformed) = %v, want ErrInvalid", err)
	}
	if err := s.Extract(t.Context(), d, t.TempDir()); !errors.Is(err, hallmark.ErrNotFound) {
		t.Errorf("Extract() = %v, want ErrNotFound", err)
	}
}

func TestStoreCanceled(t *testing.T) {
	s, dir := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, _, err := s.Put(ctx, alice, strings.NewReader("x"), ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put() = %v, want context.Canceled", err)
	}
	assertEmptyDir(t, filepath.Join(dir, "tmp"))
}

// failAfter reads r, then fails once with err instead of io.EOF (and
// gives io.EOF after), as a reader need not repeat its error.
type failAfter struct {
	r      io.Reader
	err    error
	failed bool
}

func (f *failAfter) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) && !f.failed {
		f.failed = true
		return n, f.err
	}
	return n, err
}

// An upload that fails partway is an error, whether the indexing pass is
// in the middle of an entry, between entries, or has already given up on
// bytes that are no tar, and nothing of it is kept.
func TestStorePutReadError(t *testing.T) {
	errBroken := errors.New("connection broken")
	archive := tarball(t, tarFile("Dockerfile", "FROM scratch\n"), tarFile("big", strings.Repeat("x", 5000)))
	tests := []struct {
		name string
		body []byte
	}{
		{name: "inside an entry", body: archive[:1500]},
		{name: "between entries", body: archive[:1024]},
		{name: "not a tar", body: bytes.Repeat([]byte{0xff}, 4096)},
		{name: "before anything", body: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, dir := newStore(t)
			_, _, _, err := s.Put(t.Context(), alice, &failAfter{r: bytes.NewReader(tc.body), err: errBroken}, "")
			if !errors.Is(err, errBroken) {
				t.Fatalf("Put() = %v, want %v", err, errBroken)
			}
			assertEmptyDir(t, filepath.Join(dir, "tmp"))
			assertEmptyDir(t, filepath.Join(dir, "sha256"))
		})
	}
}

// A write error is kept: the upload fails with it even if a later write
// would succeed.
func TestWritebackWriterKeepsError(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	w := &writebackWriter{f: f}
	if _, err := w.Write(make([]byte, writebackChunk+1)); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	if w.begun != writebackChunk+1 {
		t.Errorf("writeback begun up to %d, want %d", w.begun, writebackChunk+1)
	}
	f.Close()
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("Write() to a closed file = nil")
	}
	first := w.err
	if _, err := w.Write([]byte("x")); !errors.Is(err, first) {
		t.Errorf("Write() after an error = %v, want the first error %v", err, first)
	}
}

func TestStoreExtract(t *testing.T) {
	archive := gzipped(t, tarball(t, tarDir("app/"), tarFile("app/Dockerfile", "FROM scratch\n")))
	s, dir := newStore(t)
	d, _, _, err := s.Put(t.Context(), alice, bytes.NewReader(archive), "")
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "ctx")
	if err := s.Extract(t.Context(), d, dest); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "app", "Dockerfile")); err != nil || string(b) != "FROM scratch\n" {
		t.Fatalf("extracted Dockerfile = %q, %v", b, err)
	}

	// A stored archive changed on disk is caught.
	p := filepath.Join(dir, "sha256", d.Hex())
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("trailing junk")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	err = s.Extract(t.Context(), d, filepath.Join(t.TempDir(), "ctx"))
	if err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("Extract() of a changed archive = %v, want corrupt", err)
	}
}

func TestStoreExtractLimits(t *testing.T) {
	archive := tarball(t, tarFile("a", ""), tarFile("b", ""))
	s, _ := newStore(t, WithExtractLimits(ExtractLimits{MaxEntries: 1}))
	d, _, _, err := s.Put(t.Context(), alice, bytes.NewReader(archive), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Extract(t.Context(), d, t.TempDir()); !errors.Is(err, hallmark.ErrTooLarge) {
		t.Fatalf("Extract() = %v, want ErrTooLarge", err)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		dir  string
		opts []Option
	}{
		{"empty dir", "", nil},
		{"zero max", t.TempDir(), []Option{WithMaxArchiveBytes(0)}},
		{"negative limits", t.TempDir(), []Option{WithExtractLimits(ExtractLimits{MaxBytes: -1})}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.dir, tc.opts...); !errors.Is(err, hallmark.ErrInvalid) {
				t.Fatalf("New() = %v, want ErrInvalid", err)
			}
		})
	}
}

// bigArchive is a tar of a Dockerfile and one incompressible file of size
// bytes.
func bigArchive(b testing.TB, size int) []byte {
	b.Helper()
	body := make([]byte, size)
	if _, err := rand.Read(body); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{"Dockerfile", []byte("FROM base\n")}, {"big", body}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.data))}); err != nil {
			b.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			b.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkPut stores a 64 MiB archive of one incompressible file: it is
// received, written and synced, hashed and indexed in one pass.
func BenchmarkPut(b *testing.B) {
	archive := bigArchive(b, 64<<20)
	s, err := New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(archive)))
	for i := 0; b.Loop(); i++ {
		archive[len(archive)-1024-1] = byte(i) // new content, so a new archive each time
		archive[len(archive)-1024-2] = byte(i >> 8)
		if _, _, _, err := s.Put(b.Context(), alice, bytes.NewReader(archive), ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtract extracts a stored 64 MiB archive of one incompressible
// file, checking its hash in the same read, then reads its Dockerfile.
func BenchmarkExtract(b *testing.B) {
	archive := bigArchive(b, 64<<20)
	s, err := New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	d, _, _, err := s.Put(b.Context(), alice, bytes.NewReader(archive), "")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(archive)))
	for b.Loop() {
		dest := filepath.Join(b.TempDir(), "ctx")
		if err := s.Extract(b.Context(), d, dest); err != nil {
			b.Fatal(err)
		}
		if _, err := s.ReadFile(b.Context(), d, "Dockerfile", 1<<20); err != nil {
			b.Fatal(err)
		}
		if err := os.RemoveAll(dest); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadFile reads the Dockerfile of a stored 64 MiB archive:
// indexed, as after Put in the same process, and unindexed, as in another
// process (and as every build did before Put indexed uploads), where it
// reads and hashes the whole archive first.
func BenchmarkReadFile(b *testing.B) {
	archive := bigArchive(b, 64<<20)
	dir := b.TempDir()
	s, err := New(dir)
	if err != nil {
		b.Fatal(err)
	}
	d, _, _, err := s.Put(b.Context(), alice, bytes.NewReader(archive), "")
	if err != nil {
		b.Fatal(err)
	}
	for _, indexed := range []bool{true, false} {
		b.Run(map[bool]string{true: "indexed", false: "unindexed"}[indexed], func(b *testing.B) {
			for b.Loop() {
				if !indexed {
					s.index.remove(d.Hex())
				}
				if _, err := s.ReadFile(b.Context(), d, "Dockerfile", 1<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
