package contextstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hallmark-dev/hallmark"
)

// Collected is what one collection removed.
type Collected struct {
	// Ownerships is the number of expired ownership records removed.
	Ownerships int
	// Archives is the number of archives removed because no owner held
	// them any more, and Bytes their total size.
	Archives int
	Bytes    int64
}

// Collect removes expired ownerships, then the archives that no owner
// holds and no build of this process uses (Use), and uploads left
// unfinished for longer than the TTL (by a crash). An ownership a build
// uses is kept too. Archives stored before ownerships were recorded have
// no owner and are removed. It logs every archive it removes. On error,
// what it removed so far stays removed and is counted.
func (s *Store) Collect(ctx context.Context) (Collected, error) {
	var c Collected
	unlock, err := s.lock()
	if err != nil {
		return c, err
	}
	defer unlock()
	live, err := s.collectOwnerships(ctx, &c)
	if err != nil {
		return c, err
	}
	if err := s.collectArchives(ctx, live, &c); err != nil {
		return c, err
	}
	return c, s.collectUploads(ctx)
}

// collectOwnerships removes expired ownership records and returns the
// digests (hex) still owned.
func (s *Store) collectOwnerships(ctx context.Context, c *Collected) (map[string]bool, error) {
	live := map[string]bool{}
	owners, err := os.ReadDir(filepath.Join(s.dir, "owners"))
	if err != nil {
		return nil, fmt.Errorf("collect contexts: %w", err)
	}
	for _, o := range owners {
		dir := filepath.Join(s.dir, "owners", o.Name())
		recs, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("collect contexts: %w", err)
		}
		left := len(recs)
		for _, r := range recs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			fi, err := r.Info()
			if errors.Is(err, fs.ErrNotExist) {
				left--
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("collect contexts: %w", err)
			}
			if !s.expired(fi.ModTime()) || s.inUse[r.Name()] > 0 {
				live[r.Name()] = true
				continue
			}
			if err := os.Remove(filepath.Join(dir, r.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("collect contexts: %w", err)
			}
			c.Ownerships++
			left--
		}
		if left == 0 {
			_ = os.Remove(dir) // fails harmlessly if an owner just uploaded
		}
	}
	return live, nil
}

// collectArchives removes the archives neither live nor in use.
func (s *Store) collectArchives(ctx context.Context, live map[string]bool, c *Collected) error {
	blobs, err := os.ReadDir(filepath.Join(s.dir, "sha256"))
	if err != nil {
		return fmt.Errorf("collect contexts: %w", err)
	}
	for _, b := range blobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := b.Name()
		if live[name] || s.inUse[name] > 0 {
			continue
		}
		fi, err := b.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("collect contexts: %w", err)
		}
		if err := os.Remove(filepath.Join(s.dir, "sha256", name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("collect contexts: %w", err)
		}
		s.index.remove(name)
		c.Archives++
		c.Bytes += fi.Size()
		s.opts.logger.InfoContext(ctx, "context removed: no owner holds it any more", "digest", "sha256:"+name, "bytes", fi.Size())
	}
	return nil
}

// collectUploads removes upload files older than the TTL: no upload runs
// that long, so a crash left them.
func (s *Store) collectUploads(ctx context.Context) error {
	dir := filepath.Join(s.dir, "tmp")
	tmps, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("collect contexts: %w", err)
	}
	for _, t := range tmps {
		fi, err := t.Info()
		if err != nil || !s.expired(fi.ModTime()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, t.Name())); err == nil {
			s.opts.logger.InfoContext(ctx, "unfinished context upload removed", "file", t.Name(), "bytes", fi.Size())
		}
	}
	return nil
}

// Run collects at once and then every interval until ctx ends, logging
// what each collection removed and errors, and passing each result to the
// observer (WithCollectObserver). An interval that is not positive is an
// error wrapping hallmark.ErrInvalid.
func (s *Store) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("%w: collection interval %s is not positive", hallmark.ErrInvalid, every)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		c, err := s.Collect(ctx)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			s.opts.logger.WarnContext(ctx, "collect contexts", "error", err)
		case c != Collected{}:
			s.opts.logger.InfoContext(ctx, "contexts collected", "ownerships", c.Ownerships, "archives", c.Archives, "bytes", c.Bytes)
		}
		if s.opts.onCollect != nil {
			s.opts.onCollect(c)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
