package contextstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func put(t *testing.T, s *Store, owner hallmark.Identity, content string) (hallmark.Digest, bool) {
	t.Helper()
	d, _, existed, err := s.Put(t.Context(), owner, strings.NewReader(content), "")
	if err != nil {
		t.Fatalf("Put(%s) = %v", owner.Subject, err)
	}
	return d, existed
}

func TestOwnerKey(t *testing.T) {
	hexKey := regexp.MustCompile(`^[0-9a-f]{64}$`)
	tests := []struct {
		name    string
		a, b    hallmark.Identity
		same    bool
		wantErr bool
	}{
		{name: "same identity", a: alice, b: alice, same: true},
		{name: "other subject", a: alice, b: bob},
		{name: "other issuer", a: alice, b: hallmark.Identity{Issuer: "https://other.example", Subject: "alice"}},
		{name: "boundary moves", a: hallmark.Identity{Issuer: "a", Subject: "bc"}, b: hallmark.Identity{Issuer: "ab", Subject: "c"}},
		{name: "claims do not matter", a: alice, b: hallmark.Identity{Issuer: alice.Issuer, Subject: alice.Subject, Claims: map[string]any{"x": "y"}}, same: true},
		{name: "no issuer", a: hallmark.Identity{Subject: "alice"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ka, err := ownerKey(tc.a)
			if tc.wantErr {
				if !errors.Is(err, hallmark.ErrInvalid) {
					t.Fatalf("ownerKey() = %v, want ErrInvalid", err)
				}
				return
			}
			kb, err2 := ownerKey(tc.b)
			if err != nil || err2 != nil {
				t.Fatal(err, err2)
			}
			if !hexKey.MatchString(ka) || (ka == kb) != tc.same {
				t.Fatalf("ownerKey() = %q, %q; want hex keys, equal = %v", ka, kb, tc.same)
			}
		})
	}
}

func TestStoreOwnership(t *testing.T) {
	clock := newFakeClock()
	s, dir := newStore(t, WithClock(clock.now))
	d, existed := put(t, s, alice, "alice's source")
	if existed {
		t.Fatal("first Put existed")
	}
	random := hallmark.SHA256([]byte("never uploaded"))
	errBob, errRandom := s.Lookup(t.Context(), bob, d), s.Lookup(t.Context(), bob, random)
	if !errors.Is(errBob, hallmark.ErrNotFound) {
		t.Fatalf("Lookup(bob) = %v, want ErrNotFound", errBob)
	}
	if strings.ReplaceAll(errBob.Error(), string(d), "D") != strings.ReplaceAll(errRandom.Error(), string(random), "D") {
		t.Errorf("another's context and a missing one read differently:\n%v\n%v", errBob, errRandom)
	}
	if _, err := s.Use(bob, d); err == nil || err.Error() != errBob.Error() {
		t.Errorf("Use(bob) = %v, want %v", err, errBob)
	}
	if ok, err := s.Reuse(t.Context(), bob, d); ok || err != nil {
		t.Errorf("Reuse(bob) = %v, %v; want false", ok, err)
	}
	if ok, err := s.Reuse(t.Context(), alice, d); !ok || err != nil {
		t.Errorf("Reuse(alice) = %v, %v; want true", ok, err)
	}

	// Bob sends the same bytes: stored once, owned by both.
	if _, existed := put(t, s, bob, "alice's source"); existed {
		t.Error("bob's first Put reports existed: it would reveal alice's upload")
	}
	if _, existed := put(t, s, alice, "alice's source"); !existed {
		t.Error("alice's second Put does not report existed")
	}
	if err := s.Lookup(t.Context(), bob, d); err != nil {
		t.Errorf("Lookup(bob) after his upload = %v", err)
	}
	if blobs, _ := os.ReadDir(filepath.Join(dir, "sha256")); len(blobs) != 1 {
		t.Errorf("%d archives stored, want 1", len(blobs))
	}
	// Records are named by hashes, never by the raw identity.
	owners, _ := os.ReadDir(filepath.Join(dir, "owners"))
	if len(owners) != 2 {
		t.Fatalf("%d owner directories, want 2", len(owners))
	}
	for _, o := range owners {
		if strings.Contains(o.Name(), "alice") || strings.Contains(o.Name(), "bob") || len(o.Name()) != 64 {
			t.Errorf("owner directory %q is not a hash", o.Name())
		}
	}

	// A restarted gateway knows the owners.
	s2, err := New(dir, WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Lookup(t.Context(), alice, d); err != nil {
		t.Errorf("Lookup after restart = %v", err)
	}
	if c, err := s2.Collect(t.Context()); err != nil || c != (Collected{}) {
		t.Errorf("Collect after restart = %+v, %v; want nothing removed", c, err)
	}
}

func TestStoreQuota(t *testing.T) {
	clock := newFakeClock()
	s, dir := newStore(t, WithClock(clock.now), WithQuotaBytes(100), WithMaxArchiveBytes(100))
	sixty, fifty := strings.Repeat("6", 60), strings.Repeat("5", 50)
	d60, _ := put(t, s, alice, sixty)

	tests := []struct {
		name    string
		owner   hallmark.Identity
		content string
		wantMsg []string // empty: the upload fits
	}{
		{name: "over the quota", owner: alice, content: fifty, wantMsg: []string{"quota of 100 bytes", "use 60 bytes", "this upload is 50 bytes"}},
		{name: "another identity's quota", owner: bob, content: fifty},
		{name: "what the owner holds already", owner: alice, content: sixty},
		{name: "co-owned bytes count for each owner", owner: bob, content: sixty, wantMsg: []string{"use 50 bytes"}},
		{name: "exactly the quota", owner: alice, content: strings.Repeat("4", 40)},
		{name: "cut off once it cannot fit", owner: alice, content: strings.Repeat("7", 70), wantMsg: []string{"use 100 bytes", "this upload is over 60 bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := s.Put(t.Context(), tc.owner, strings.NewReader(tc.content), "")
			if len(tc.wantMsg) == 0 {
				if err != nil {
					t.Fatalf("Put() = %v", err)
				}
				return
			}
			if !errors.Is(err, hallmark.ErrTooLarge) {
				t.Fatalf("Put() = %v, want ErrTooLarge", err)
			}
			for _, m := range tc.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not contain %q", err, m)
				}
			}
			assertEmptyDir(t, filepath.Join(dir, "tmp"))
			if err := s.Lookup(t.Context(), alice, d60); err != nil {
				t.Errorf("a refused upload lost an earlier one: %v", err)
			}
		})
	}

	// Expired contexts no longer count.
	clock.add(DefaultTTL)
	if _, _, _, err := s.Put(t.Context(), alice, strings.NewReader(fifty), ""); err != nil {
		t.Errorf("Put() after expiry = %v", err)
	}
}

func TestStoreCollect(t *testing.T) {
	clock := newFakeClock()
	var logs bytes.Buffer
	s, dir := newStore(t, WithClock(clock.now), WithTTL(24*time.Hour), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	shared, _ := put(t, s, alice, "shared")
	onlyAlice, _ := put(t, s, alice, "only alice's")
	clock.add(10 * time.Hour)
	put(t, s, bob, "shared")
	// An archive stored before owners were recorded has none.
	legacy := hallmark.SHA256([]byte("legacy"))
	if err := os.WriteFile(filepath.Join(dir, "sha256", legacy.Hex()), []byte("legacy"), 0o400); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name    string
		advance time.Duration
		do      func(t *testing.T)
		want    Collected
		held    map[string][]hallmark.Digest
		gone    map[string][]hallmark.Digest
	}{
		{
			name: "nothing expired yet", advance: 13 * time.Hour,
			want: Collected{Archives: 1, Bytes: 6}, // the legacy one
			held: map[string][]hallmark.Digest{"alice": {shared, onlyAlice}, "bob": {shared}},
		},
		{
			name: "alice's ownerships expire; bob still holds the shared archive", advance: time.Hour,
			want: Collected{Ownerships: 2, Archives: 1, Bytes: int64(len("only alice's"))},
			held: map[string][]hallmark.Digest{"bob": {shared}},
			gone: map[string][]hallmark.Digest{"alice": {shared, onlyAlice}},
		},
		{
			name: "a build keeps what it uses past the ttl", advance: 13*time.Hour + time.Minute,
			do: func(t *testing.T) {
				release, err := s.Use(bob, shared)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(release)
				clock.add(48 * time.Hour) // the build takes long
			},
			held: map[string][]hallmark.Digest{},
		},
		{
			name: "the ttl counts from the end of the use", advance: 23 * time.Hour,
			do: func(t *testing.T) {
				release, err := s.Use(bob, shared)
				if err != nil {
					t.Fatal(err)
				}
				release()
				release() // twice does nothing
			},
			held: map[string][]hallmark.Digest{"bob": {shared}},
		},
		{
			name: "then it goes", advance: time.Hour,
			want: Collected{Ownerships: 1, Archives: 1, Bytes: int64(len("shared"))},
			gone: map[string][]hallmark.Digest{"bob": {shared}},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.do != nil {
				st.do(t)
			}
			clock.add(st.advance)
			got, err := s.Collect(t.Context())
			if err != nil || got != st.want {
				t.Fatalf("Collect() = %+v, %v; want %+v", got, err, st.want)
			}
			ids := map[string]hallmark.Identity{"alice": alice, "bob": bob}
			for name, ds := range st.held {
				id := ids[name]
				for _, d := range ds {
					if err := s.Lookup(t.Context(), id, d); err != nil {
						t.Errorf("Lookup(%s, %s) = %v", id.Subject, d, err)
					}
				}
			}
			for name, ds := range st.gone {
				id := ids[name]
				for _, d := range ds {
					if err := s.Lookup(t.Context(), id, d); !errors.Is(err, hallmark.ErrNotFound) {
						t.Errorf("Lookup(%s, %s) = %v, want ErrNotFound", id.Subject, d, err)
					}
				}
			}
		})
	}
	if blobs, _ := os.ReadDir(filepath.Join(dir, "sha256")); len(blobs) != 0 {
		t.Errorf("%d archives left", len(blobs))
	}
	if owners, _ := os.ReadDir(filepath.Join(dir, "owners")); len(owners) != 0 {
		t.Errorf("%d owner directories left", len(owners))
	}
	for _, d := range []hallmark.Digest{legacy, onlyAlice, shared} {
		if !strings.Contains(logs.String(), string(d)) {
			t.Errorf("removal of %s not logged:\n%s", d, logs.String())
		}
	}
}

func TestStoreConcurrentUploadsAndCollect(t *testing.T) {
	s, _ := newStore(t)
	type upload struct {
		owner hallmark.Identity
		d     hallmark.Digest
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done []upload
	)
	for i := range 16 {
		owner := hallmark.Identity{Issuer: "https://issuer.example", Subject: fmt.Sprintf("ci-%d", i%4)}
		wg.Go(func() {
			d, _, _, err := s.Put(t.Context(), owner, strings.NewReader(fmt.Sprintf("context %d", i%3)), "")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			done = append(done, upload{owner, d})
			mu.Unlock()
		})
		wg.Go(func() {
			if _, err := s.Collect(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, u := range done {
		if err := s.Lookup(t.Context(), u.owner, u.d); err != nil {
			t.Errorf("upload of %s by %s lost: %v", u.d, u.owner.Subject, err)
		}
	}
}

func TestStoreRun(t *testing.T) {
	clock := newFakeClock()
	s, dir := newStore(t, WithClock(clock.now))
	ctx, cancel := context.WithCancel(t.Context())
	results := make(chan Collected, 1)
	s.opts.onCollect = func(c Collected) {
		results <- c
		cancel()
	}
	if err := os.WriteFile(filepath.Join(dir, "sha256", hallmark.SHA256([]byte("x")).Hex()), []byte("x"), 0o400); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if c := <-results; c.Archives != 1 || c.Bytes != 1 {
		t.Errorf("the first collection at start = %+v, want the unowned archive", c)
	}
	if err := s.Run(t.Context(), 0); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("Run(0) = %v, want ErrInvalid", err)
	}
}
