package debian

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	hallmark "github.com/hallmark-dev/hallmark"
)

// MaxDebBytes bounds one downloaded .deb.
const MaxDebBytes = 1 << 30

// Fetcher downloads .deb files into a cache directory named by their
// sha256, checking each against the digest the package index gives.
type Fetcher struct {
	dir    string
	client *http.Client
	par    int
	logger *slog.Logger
}

// FetchOption configures a Fetcher.
type FetchOption func(*Fetcher) error

// WithHTTPClient sets the HTTP client for downloads. The default is a
// client with a 10 minute timeout that honours the proxy environment.
func WithHTTPClient(c *http.Client) FetchOption {
	return func(f *Fetcher) error { f.client = c; return nil }
}

// WithParallelDownloads sets how many files download at once. The default
// is 4.
func WithParallelDownloads(n int) FetchOption {
	return func(f *Fetcher) error {
		if n < 1 {
			return fmt.Errorf("parallel downloads must be at least 1, got %d", n)
		}
		f.par = n
		return nil
	}
}

// WithFetchLogger sets the logger; nil is an error (hallmark.ErrInvalid).
// The default discards logs.
func WithFetchLogger(l *slog.Logger) FetchOption {
	return func(f *Fetcher) error {
		return hallmark.SetLogger(&f.logger, l)
	}
}

// NewFetcher returns a Fetcher that caches files in dir, as
// dir/<sha256 hex>.deb. Fetch creates dir if needed.
func NewFetcher(dir string, opts ...FetchOption) (*Fetcher, error) {
	f := &Fetcher{dir: dir, client: &http.Client{Timeout: 10 * time.Minute}, par: 4, logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(f); err != nil {
			return nil, err
		}
	}
	if dir == "" {
		return nil, errors.New("deb cache dir is empty")
	}
	return f, nil
}

// FetchStats says what a Fetch did.
type FetchStats struct {
	Downloaded, Cached int
	Bytes              int64 // downloaded
}

// Fetch returns the path of every package's .deb, in plan order,
// downloading the ones not cached yet. A cached file is hashed again
// before use; a download whose size or sha256 differs from the index is
// an error wrapping hallmark.ErrInvalid, and is not kept.
func (f *Fetcher) Fetch(ctx context.Context, plan *Plan) ([]string, FetchStats, error) {
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return nil, FetchStats{}, fmt.Errorf("create deb cache: %w", err)
	}
	paths := make([]string, len(plan.Packages))
	var downloaded, cached, bytes atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(f.par)
	for i, p := range plan.Packages {
		g.Go(func() error {
			dst := filepath.Join(f.dir, p.SHA256.Hex()+".deb")
			if err := checkFile(dst, p); err == nil {
				paths[i] = dst
				cached.Add(1)
				return nil
			}
			n, err := f.download(gctx, p, dst)
			if err != nil {
				return fmt.Errorf("fetch %s=%s: %w", p.Name, p.Version, err)
			}
			paths[i] = dst
			downloaded.Add(1)
			bytes.Add(n)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, FetchStats{}, err
	}
	return paths, FetchStats{Downloaded: int(downloaded.Load()), Cached: int(cached.Load()), Bytes: bytes.Load()}, nil
}

// checkFile reports whether path holds p's .deb.
func checkFile(path string, p Package) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(fh, MaxDebBytes+1))
	if err != nil {
		return err
	}
	if n != p.Size || "sha256:"+hex.EncodeToString(h.Sum(nil)) != p.SHA256.String() {
		return fmt.Errorf("cached %s is not %s", path, p.SHA256)
	}
	return nil
}

// download fetches p.URI into dst through a temporary file, checking size
// and digest before the rename.
func (f *Fetcher) download(ctx context.Context, p Package, dst string) (int64, error) {
	if p.Size < 0 || p.Size > MaxDebBytes {
		return 0, fmt.Errorf("%w: %s is %d bytes, the limit is %d", hallmark.ErrTooLarge, p.URI, p.Size, MaxDebBytes)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URI, nil)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", hallmark.ErrInvalid, p.URI, err)
	}
	start := time.Now()
	resp, err := f.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("%w: download %s: %w", hallmark.ErrCanceled, p.URI, context.Cause(ctx))
		}
		return 0, fmt.Errorf("%w: download %s: %w", hallmark.ErrUnavailable, p.URI, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		code := hallmark.ErrUnavailable
		if resp.StatusCode == http.StatusNotFound {
			code = hallmark.ErrNotFound
		}
		return 0, fmt.Errorf("%w: download %s: %s", code, p.URI, resp.Status)
	}
	tmp, err := os.CreateTemp(f.dir, ".download-*")
	if err != nil {
		return 0, fmt.Errorf("create download file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, p.Size+1))
	if err != nil {
		return 0, fmt.Errorf("%w: download %s: %w", hallmark.ErrUnavailable, p.URI, err)
	}
	if n != p.Size {
		return 0, fmt.Errorf("%w: %s is %d bytes, the signed index says %d", hallmark.ErrInvalid, p.URI, n, p.Size)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != p.SHA256.String() {
		return 0, fmt.Errorf("%w: %s has sha256 %s, the signed index says %s", hallmark.ErrInvalid, p.URI, got, p.SHA256)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return 0, fmt.Errorf("store %s: %w", dst, err)
	}
	f.logger.DebugContext(ctx, "downloaded", "package", p.Name, "version", p.Version, "bytes", n, "ms", time.Since(start).Milliseconds())
	return n, nil
}
