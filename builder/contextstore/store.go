package contextstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hallmark-dev/hallmark"
)

// DefaultMaxArchiveBytes is the default limit on an uploaded context archive.
const DefaultMaxArchiveBytes = 512 << 20

// Store keeps uploaded build-context archives on disk, named by the
// sha256 digest of their bytes: dir/sha256/<hex>. Its methods are safe for
// concurrent use, also by several processes sharing dir.
type Store struct {
	dir    string
	max    int64
	limits ExtractLimits
}

type options struct {
	maxBytes int64
	limits   ExtractLimits
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

// WithExtractLimits sets the limits Extract applies to an archive's
// contents. Zero fields keep their defaults. The default is 100,000 entries
// and 2 GiB uncompressed.
func WithExtractLimits(l ExtractLimits) Option {
	return func(o *options) error {
		if l.MaxEntries < 0 || l.MaxBytes < 0 {
			return fmt.Errorf("%w: extract limits must not be negative", hallmark.ErrInvalid)
		}
		o.limits = l
		return nil
	}
}

// New opens, creating it if needed, a store in dir.
func New(dir string, opts ...Option) (*Store, error) {
	o := options{maxBytes: DefaultMaxArchiveBytes}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: context store directory is empty", hallmark.ErrInvalid)
	}
	for _, d := range []string{filepath.Join(dir, "sha256"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create context store: %w", err)
		}
	}
	return &Store{dir: dir, max: o.maxBytes, limits: o.limits.withDefaults()}, nil
}

func (s *Store) path(d hallmark.Digest) string {
	return filepath.Join(s.dir, "sha256", d.Hex())
}

// Put stores the archive read from r and returns its digest and size.
// When expected is not empty the content must hash to it, or the error wraps
// hallmark.ErrInvalid; content over the size limit gives an error wrapping
// hallmark.ErrTooLarge. The body is always read and hashed, even when the
// digest is already stored, so that only a caller holding the content can
// name it; existed reports that it was already stored. Errors do not repeat
// "store context": the caller names what it was doing.
func (s *Store) Put(ctx context.Context, r io.Reader, expected hallmark.Digest) (d hallmark.Digest, size int64, existed bool, err error) {
	if expected != "" {
		if _, err := hallmark.ParseDigest(string(expected)); err != nil {
			return "", 0, false, err
		}
	}
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "upload-*")
	if err != nil {
		return "", 0, false, err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()

	h := sha256.New()
	src := io.LimitReader(&ctxReader{ctx: ctx, r: r}, s.max+1)
	size, err = io.Copy(io.MultiWriter(tmp, h), src)
	if err != nil {
		return "", 0, false, err
	}
	if size > s.max {
		return "", 0, false, fmt.Errorf("%w: context archive is larger than the limit of %d bytes", hallmark.ErrTooLarge, s.max)
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
	// A hard link never replaces an existing name, so of several concurrent
	// Puts of the same content exactly one creates it.
	switch err := os.Link(tmp.Name(), s.path(d)); {
	case err == nil:
		return d, size, false, nil
	case errors.Is(err, fs.ErrExist):
		return d, size, true, nil
	default:
		return "", 0, false, err
	}
}

// Has reports whether the archive with digest d is stored.
func (s *Store) Has(d hallmark.Digest) bool {
	if _, err := hallmark.ParseDigest(string(d)); err != nil {
		return false
	}
	fi, err := os.Stat(s.path(d))
	return err == nil && fi.Mode().IsRegular()
}

// Open returns the stored archive with digest d. The error wraps
// hallmark.ErrNotFound if there is none.
func (s *Store) Open(d hallmark.Digest) (io.ReadCloser, error) {
	if _, err := hallmark.ParseDigest(string(d)); err != nil {
		return nil, fmt.Errorf("open context: %w", err)
	}
	f, err := os.Open(s.path(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open context: %w: no uploaded context %s", hallmark.ErrNotFound, d)
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
	if err := ExtractTar(ctx, tee, dest, s.limits); err != nil {
		return err
	}
	// The tar reader stops at the end-of-archive marker; hash the rest.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("read stored context: %w", err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != string(d) {
		return fmt.Errorf("verify stored context: it is corrupt, its content hashes to %s", got)
	}
	return nil
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
