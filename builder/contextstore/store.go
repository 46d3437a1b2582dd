package contextstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hallmark-dev/hallmark"
)

// Defaults of the store's limits.
const (
	// DefaultMaxArchiveBytes is the default limit on an uploaded context archive.
	DefaultMaxArchiveBytes = 512 << 20
	// DefaultQuotaBytes is the default limit on the contexts one identity holds.
	DefaultQuotaBytes = 10 << 30
	// DefaultTTL is how long a context is kept after its owner last
	// uploaded it or built from it, by default.
	DefaultTTL = 24 * time.Hour
)

// Store keeps uploaded build-context archives on disk, named by the sha256
// digest of their bytes (dir/sha256/<hex>), and records who uploaded each:
// an empty file dir/owners/<owner>/<hex> per owner, where <owner> is the
// hex sha256 of the owner's issuer and subject (never the raw claims) and
// the file's modification time is the owner's last upload of or build from
// the context. The same bytes uploaded by two identities are stored once and
// owned by both. Its methods are safe for concurrent use, also by several
// processes sharing dir: changes to the ownership records take a lock file
// (dir/lock) besides the in-process lock.
type Store struct {
	dir  string
	opts options

	mu    sync.Mutex     // with the lock file, guards ownership records and blob removal
	inUse map[string]int // digest hex → builds using it in this process
	index *indexCache    // of archives this process received
}

type options struct {
	maxBytes  int64
	quota     int64
	ttl       time.Duration
	limits    ExtractLimits
	now       func() time.Time
	logger    *slog.Logger
	onCollect func(Collected)
	shared    Shared
}

// Option configures a Store.
type Option func(*options) error

// WithMaxArchiveBytes limits the size of an archive accepted by Put.
// The default is DefaultMaxArchiveBytes (512 MiB).
func WithMaxArchiveBytes(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("%w: max context bytes %d is not positive", hallmark.ErrInvalid, n)
		}
		o.maxBytes = n
		return nil
	}
}

// WithQuotaBytes limits the total size of the contexts one identity holds:
// an upload that would take it over the quota fails with an error wrapping
// hallmark.ErrTooLarge. A context several identities hold counts fully for
// each. The default is DefaultQuotaBytes (10 GiB).
func WithQuotaBytes(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("%w: context quota %d is not positive", hallmark.ErrInvalid, n)
		}
		o.quota = n
		return nil
	}
}

// WithTTL sets how long an identity keeps a context after its last upload
// of it or its last build from it; Collect then drops the ownership, and
// the archive once no owner is left. The default is DefaultTTL (24h).
func WithTTL(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: context ttl %s is not positive", hallmark.ErrInvalid, d)
		}
		o.ttl = d
		return nil
	}
}

// WithExtractLimits sets the limits Extract and ReadFile apply to an
// archive's contents. Zero fields keep their defaults. The default is
// 100,000 entries and 2 GiB uncompressed.
func WithExtractLimits(l ExtractLimits) Option {
	return func(o *options) error {
		if l.MaxEntries < 0 || l.MaxBytes < 0 {
			return fmt.Errorf("%w: extract limits must not be negative", hallmark.ErrInvalid)
		}
		o.limits = l
		return nil
	}
}

// WithClock sets the clock that times ownerships, for tests. The default
// is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return fmt.Errorf("%w: clock is nil", hallmark.ErrInvalid)
		}
		o.now = now
		return nil
	}
}

// WithLogger sets the logger, which records what Collect removes; nil is
// an error (hallmark.ErrInvalid). The default discards logs.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { return hallmark.SetLogger(&o.logger, l) }
}

// WithCollectObserver sets a function called with the result of every
// collection that Run starts, for metrics. The default is none.
func WithCollectObserver(f func(Collected)) Option {
	return func(o *options) error { o.onCollect = f; return nil }
}

// New opens, creating it if needed, a store in dir.
func New(dir string, opts ...Option) (*Store, error) {
	o := options{
		maxBytes: DefaultMaxArchiveBytes,
		quota:    DefaultQuotaBytes,
		ttl:      DefaultTTL,
		now:      time.Now,
		logger:   slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: context store directory is empty", hallmark.ErrInvalid)
	}
	for _, d := range []string{"sha256", "tmp", "owners"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("create context store: %w", err)
		}
	}
	o.limits = o.limits.withDefaults()
	return &Store{dir: dir, opts: o, inUse: map[string]int{}, index: newIndexCache(maxIndexBytes)}, nil
}

func (s *Store) path(d hallmark.Digest) string {
	return filepath.Join(s.dir, "sha256", d.Hex())
}

// Put stores the archive read from r for owner and returns its digest and
// size. When expected is not empty the content must hash to it, or the
// error wraps hallmark.ErrInvalid; content over the size limit, or over
// what is left of owner's quota, gives an error wrapping
// hallmark.ErrTooLarge, and nothing is kept of it. The body is always read
// and hashed, even when the digest is already stored, so that only a
// caller holding the content can name it; existed reports that owner
// already held it (another identity's copy does not count, and is not
// revealed). Put renews owner's ownership. Errors do not repeat "store
// context": the caller names what it was doing.
//
// Put reads the body once: as it arrives it is written to disk, whose
// writeback starts every 8 MiB (so that the final sync, which makes the
// archive durable before it is named, waits for little more than the
// disk), hashed, and applied to a tree of names in memory with
// extraction's rules and limits, which gives the index ReadFile reads the
// Dockerfile with. An archive that extraction would refuse is stored all
// the same, without an index: the build that names it reports why.
func (s *Store) Put(ctx context.Context, owner hallmark.Identity, r io.Reader, expected hallmark.Digest) (d hallmark.Digest, size int64, existed bool, err error) {
	d, size, existed, err = s.put(ctx, owner, r, expected)
	if err != nil || s.opts.shared == nil {
		return d, size, existed, err
	}
	if err := s.share(ctx, owner, d, size); err != nil {
		return "", 0, false, err
	}
	return d, size, existed, nil
}

// put is Put without sharing.
func (s *Store) put(ctx context.Context, owner hallmark.Identity, r io.Reader, expected hallmark.Digest) (d hallmark.Digest, size int64, existed bool, err error) {
	key, err := ownerKey(owner)
	if err != nil {
		return "", 0, false, err
	}
	if expected != "" {
		if _, err := hallmark.ParseDigest(string(expected)); err != nil {
			return "", 0, false, err
		}
	}
	// Stop reading early once the upload cannot fit even if it is one the
	// owner holds already; commit checks exactly, under the lock.
	used, largest, err := s.usage(key)
	if err != nil {
		return "", 0, false, err
	}
	limit := min(s.opts.maxBytes, max(s.opts.quota-used+largest, 0))
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "upload-*")
	if err != nil {
		return "", 0, false, err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()

	// One pass over the upload: disk, hash and index (see above).
	h := sha256.New()
	src := &countReader{r: io.LimitReader(&ctxReader{ctx: ctx, r: r}, limit+1)}
	w := &writebackWriter{f: tmp}
	tee := io.TeeReader(src, io.MultiWriter(w, h))
	ix := &archiveIndex{tree: newMemTree()}
	ixErr := applyTar(ctx, tee, ix.tree, s.opts.limits, ix.record)
	_, err = io.Copy(io.Discard, tee) // what follows the end-of-archive marker
	switch {
	case src.err != nil:
		return "", 0, false, src.err
	case w.err != nil:
		return "", 0, false, w.err
	case err != nil:
		return "", 0, false, err
	}
	size = src.n
	if size > s.opts.maxBytes {
		return "", 0, false, fmt.Errorf("%w: context archive is larger than the limit of %d bytes", hallmark.ErrTooLarge, s.opts.maxBytes)
	}
	if size > limit {
		return "", 0, false, s.quotaError(used, size, true)
	}
	d = hallmark.Digest("sha256:" + hex.EncodeToString(h.Sum(nil)))
	if expected != "" && d != expected {
		return "", 0, false, fmt.Errorf("%w: content has digest %s, not the expected %s", hallmark.ErrInvalid, d, expected)
	}
	if err := tmp.Chmod(0o400); err != nil {
		return "", 0, false, err
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, false, err
	}
	if err := tmp.Close(); err != nil {
		return "", 0, false, err
	}
	existed, err = s.commit(key, tmp.Name(), d, size)
	if err != nil {
		return "", 0, false, err
	}
	if ixErr == nil {
		s.index.put(d.Hex(), ix)
	}
	return d, size, existed, nil
}

// quotaError says that an upload of size bytes does not fit beside the
// used bytes; partial means the upload was cut off at what would fit.
func (s *Store) quotaError(used, size int64, partial bool) error {
	what := fmt.Sprintf("this upload is %d bytes", size)
	if partial {
		what = fmt.Sprintf("this upload is over %d bytes", size-1)
	}
	return fmt.Errorf("%w: the context quota of %d bytes per identity would be exceeded: your contexts use %d bytes and %s; builds from them keep them, otherwise they expire %s after their last upload or build",
		hallmark.ErrTooLarge, s.opts.quota, used, what, s.opts.ttl)
}

// Open returns the stored archive with digest d, whoever owns it. The
// error wraps hallmark.ErrNotFound if there is none.
func (s *Store) Open(d hallmark.Digest) (io.ReadCloser, error) {
	if _, err := hallmark.ParseDigest(string(d)); err != nil {
		return nil, fmt.Errorf("open context: %w", err)
	}
	f, err := os.Open(s.path(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open context: %w", notUploaded(d))
	}
	if err != nil {
		return nil, fmt.Errorf("open context: %w", err)
	}
	return f, nil
}

// Extract extracts the stored archive with digest d into dest with
// ExtractTar and the store's limits, and checks that the stored bytes still
// hash to d. On error dest may hold a partial extraction. Errors do not
// repeat the digest; callers add it.
func (s *Store) Extract(ctx context.Context, d hallmark.Digest, dest string) error {
	rc, err := s.Open(d)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	tee := io.TeeReader(rc, h)
	if err := ExtractTar(ctx, tee, dest, s.opts.limits); err != nil {
		return err
	}
	return checkHash(tee, h, d)
}

// checkHash reads the rest of tee, which feeds h, and checks the whole
// stream hashed to d.
func checkHash(tee io.Reader, h interface{ Sum([]byte) []byte }, d hallmark.Digest) error {
	// The tar reader stops at the end-of-archive marker; hash the rest.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("read stored context: %w", err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != string(d) {
		return fmt.Errorf("verify stored context: it is corrupt, its content hashes to %s", got)
	}
	return nil
}

// countReader counts the bytes read and keeps the first error other than
// io.EOF.
type countReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) && c.err == nil {
		c.err = err
	}
	return n, err
}

// writebackChunk is how much Put writes before it starts the writeback of
// what it wrote.
const writebackChunk = 8 << 20

// writebackWriter writes to f and starts the writeback of every
// writebackChunk bytes written (startWriteback), so that the disk writes
// while the rest arrives; it keeps the first error.
type writebackWriter struct {
	f          *os.File
	off, begun int64
	err        error
}

func (w *writebackWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	w.off += int64(n)
	if err != nil {
		w.err = err
		return n, err
	}
	if w.off-w.begun >= writebackChunk {
		startWriteback(w.f, w.begun, w.off-w.begun)
		w.begun = w.off
	}
	return n, nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
