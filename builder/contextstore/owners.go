package contextstore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hallmark-dev/hallmark"
)

// notUploaded is the one answer for a context that was never uploaded, has
// expired or belongs to someone else, so that it reveals nothing.
func notUploaded(d hallmark.Digest) error {
	return fmt.Errorf("%w: context %s was not uploaded (or has expired); call UploadContext first", hallmark.ErrNotFound, d)
}

// ownerKey names owner's records: the hex sha256 of its issuer and subject,
// each length-prefixed so that no two pairs share a key.
func ownerKey(owner hallmark.Identity) (string, error) {
	if owner.Issuer == "" {
		return "", fmt.Errorf("%w: a context owner needs an issuer", hallmark.ErrInvalid)
	}
	h := sha256.New()
	for _, s := range []string{owner.Issuer, owner.Subject} {
		_ = binary.Write(h, binary.BigEndian, uint64(len(s)))
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (s *Store) ownerDir(key string) string { return filepath.Join(s.dir, "owners", key) }

func (s *Store) expired(mtime time.Time) bool {
	return s.opts.now().Sub(mtime) >= s.opts.ttl
}

// holds reports whether the ownership record p of the archive d is live:
// not expired, and the archive is there.
func (s *Store) holds(p string, d hallmark.Digest) bool {
	fi, err := os.Stat(p)
	if err != nil || s.expired(fi.ModTime()) {
		return false
	}
	fi, err = os.Stat(s.path(d))
	return err == nil && fi.Mode().IsRegular()
}

func (s *Store) touch(p string) error {
	now := s.opts.now()
	if err := os.Chtimes(p, now, now); err != nil {
		return fmt.Errorf("renew context ownership: %w", err)
	}
	return nil
}

// usage is the size of the archives the owner key holds, expired ones left
// out, and the size of the largest.
func (s *Store) usage(key string) (used, largest int64, err error) {
	entries, err := os.ReadDir(s.ownerDir(key))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("read context ownerships: %w", err)
	}
	for _, e := range entries {
		d, err := hallmark.ParseDigest("sha256:" + e.Name())
		if err != nil {
			continue
		}
		fi, err := e.Info()
		if err != nil || s.expired(fi.ModTime()) {
			continue
		}
		if bi, err := os.Stat(s.path(d)); err == nil {
			used += bi.Size()
			largest = max(largest, bi.Size())
		}
	}
	return used, largest, nil
}

// commit makes the uploaded file tmp the archive d, unless it is stored
// already, and records key as an owner, within key's quota.
func (s *Store) commit(key, tmp string, d hallmark.Digest, size int64) (existed bool, err error) {
	unlock, err := s.lock()
	if err != nil {
		return false, err
	}
	defer unlock()
	rec := filepath.Join(s.ownerDir(key), d.Hex())
	if s.holds(rec, d) {
		return true, s.touch(rec)
	}
	used, _, err := s.usage(key)
	if err != nil {
		return false, err
	}
	if used+size > s.opts.quota {
		return false, s.quotaError(used, size, false)
	}
	// A hard link never replaces an existing name, so of several concurrent
	// Puts of the same content exactly one creates it.
	if err := os.Link(tmp, s.path(d)); err != nil && !errors.Is(err, fs.ErrExist) {
		return false, err
	}
	if err := os.MkdirAll(s.ownerDir(key), 0o700); err != nil {
		return false, fmt.Errorf("record context owner: %w", err)
	}
	f, err := os.OpenFile(rec, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return false, fmt.Errorf("record context owner: %w", err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("record context owner: %w", err)
	}
	return false, s.touch(rec)
}

// record returns owner's ownership record of d.
func (s *Store) record(owner hallmark.Identity, d hallmark.Digest) (string, error) {
	if _, err := hallmark.ParseDigest(string(d)); err != nil {
		return "", err
	}
	key, err := ownerKey(owner)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.ownerDir(key), d.Hex()), nil
}

// Lookup returns nil if owner holds the context d, and otherwise an error
// wrapping hallmark.ErrNotFound that reads the same whether d was never
// uploaded, has expired or belongs only to other identities. With a share
// (WithShared), a hold another replica recorded there counts: the archive
// is read from the share first.
func (s *Store) Lookup(ctx context.Context, owner hallmark.Identity, d hallmark.Digest) error {
	rec, err := s.record(owner, d)
	if err != nil {
		return err
	}
	if s.holds(rec, d) {
		return nil
	}
	if adopted, err := s.adopt(ctx, owner, rec, d); err != nil || !adopted {
		return cmp.Or(err, notUploaded(d))
	}
	return nil
}

// Reuse reports whether owner holds the context d and, if it does, renews
// the ownership as an upload would: a caller that already uploaded d need
// not send it again. Another identity's copy does not count. With a share,
// as for Lookup; the shared hold is renewed too.
func (s *Store) Reuse(ctx context.Context, owner hallmark.Identity, d hallmark.Digest) (bool, error) {
	rec, err := s.record(owner, d)
	if err != nil {
		return false, err
	}
	if s.holds(rec, d) {
		s.renewShared(ctx, owner, rec, d)
	} else if adopted, err := s.adopt(ctx, owner, rec, d); err != nil || !adopted {
		return false, err
	}
	unlock, err := s.lock()
	if err != nil {
		return false, err
	}
	defer unlock()
	if !s.holds(rec, d) {
		return false, nil
	}
	return true, s.touch(rec)
}

// Use marks the context d as used by a build of owner until release is
// called: Collect keeps it, and the ownership is renewed now and at
// release. If owner does not hold d the error is Lookup's. Calling release
// again does nothing.
func (s *Store) Use(owner hallmark.Identity, d hallmark.Digest) (release func(), err error) {
	rec, err := s.record(owner, d)
	if err != nil {
		return nil, err
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !s.holds(rec, d) {
		return nil, notUploaded(d)
	}
	if err := s.touch(rec); err != nil {
		return nil, err
	}
	s.inUse[d.Hex()]++
	var once sync.Once
	return func() {
		once.Do(func() {
			unlock, err := s.lock()
			if err != nil {
				s.opts.logger.Warn("release context", "digest", d, "error", err)
				s.mu.Lock() // the in-process count must drop regardless
				defer s.mu.Unlock()
			} else {
				defer unlock()
			}
			if s.inUse[d.Hex()]--; s.inUse[d.Hex()] <= 0 {
				delete(s.inUse, d.Hex())
			}
			if err := s.touch(rec); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.opts.logger.Warn("renew context ownership", "digest", d, "error", err)
			}
		})
	}, nil
}
