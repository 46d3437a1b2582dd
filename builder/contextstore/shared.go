package contextstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hallmark-dev/hallmark"
)

// Shared is where the replicas of a gateway keep what they were uploaded,
// so that each can build what another received (builder/contextshare):
// the archives, and who holds each until when. Owners are named by their
// key, the hex sha256 of their issuer and subject.
type Shared interface {
	// Publish records that ownerKey holds d until expires, storing the
	// archive (size bytes, opened by open) unless it is there.
	Publish(ctx context.Context, ownerKey string, d hallmark.Digest, size int64, open func() (io.ReadCloser, error), expires time.Time) error
	// Holds returns when ownerKey's hold of d expires; the error wraps
	// hallmark.ErrNotFound when there is no live hold.
	Holds(ctx context.Context, ownerKey string, d hallmark.Digest) (time.Time, error)
	// Open reads the archive d; the reader fails when the bytes do not
	// hash to d.
	Open(ctx context.Context, d hallmark.Digest) (io.ReadCloser, error)
}

// WithShared makes the store share what it is uploaded with the other
// replicas through sh: Put publishes every upload there (an upload fails
// when it cannot), and Lookup and Reuse take a hold another replica
// published as their own, reading the archive from sh. The default shares
// nothing.
func WithShared(sh Shared) Option {
	return func(o *options) error { o.shared = sh; return nil }
}

// share publishes owner's hold of the stored archive d.
func (s *Store) share(ctx context.Context, owner hallmark.Identity, d hallmark.Digest, size int64) error {
	key, err := ownerKey(owner)
	if err != nil {
		return err
	}
	open := func() (io.ReadCloser, error) { return os.Open(s.path(d)) }
	if err := s.opts.shared.Publish(ctx, key, d, size, open, s.opts.now().Add(s.opts.ttl)); err != nil {
		return fmt.Errorf("share with the other replicas: %w", err)
	}
	return nil
}

// renewShared renews owner's shared hold of d, which this store holds in
// the record rec, when the record was last renewed a quarter of the TTL
// ago or more: often enough that the shared hold never lapses before the
// local one by more than that. A failure is logged: the local hold stands.
func (s *Store) renewShared(ctx context.Context, owner hallmark.Identity, rec string, d hallmark.Digest) {
	if s.opts.shared == nil {
		return
	}
	fi, err := os.Stat(rec)
	if err != nil || s.opts.now().Sub(fi.ModTime()) < s.opts.ttl/4 {
		return
	}
	bi, err := os.Stat(s.path(d))
	if err != nil {
		return
	}
	if err := s.share(ctx, owner, d, bi.Size()); err != nil {
		s.opts.logger.WarnContext(ctx, "context hold not renewed with the other replicas", "digest", d, "error", err)
	}
}

// adopt takes owner's hold of d that another replica published as this
// store's, with the shared hold's expiry, reading the archive from the
// share. It returns false, and no error, when there is no live shared hold
// (or no share).
func (s *Store) adopt(ctx context.Context, owner hallmark.Identity, rec string, d hallmark.Digest) (bool, error) {
	if s.opts.shared == nil {
		return false, nil
	}
	key, err := ownerKey(owner)
	if err != nil {
		return false, err
	}
	expires, err := s.opts.shared.Holds(ctx, key, d)
	if errors.Is(err, hallmark.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("context %s: %w", d, err)
	}
	rc, err := s.opts.shared.Open(ctx, d)
	if err != nil {
		return false, fmt.Errorf("context %s: %w", d, err)
	}
	defer rc.Close()
	if _, _, _, err := s.put(ctx, owner, rc, d); err != nil {
		return false, fmt.Errorf("context %s from the other replicas: %w", d, err)
	}
	// The local hold ends when the shared one does.
	since := expires.Add(-s.opts.ttl)
	if err := os.Chtimes(rec, since, since); err != nil {
		return false, fmt.Errorf("record context owner: %w", err)
	}
	s.opts.logger.InfoContext(ctx, "context taken from the other replicas", "digest", d, "expires", expires)
	return true, nil
}
