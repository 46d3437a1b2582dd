package contextshare_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/contextshare"
	"github.com/hallmark-dev/hallmark/builder/contextstore"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

var (
	alice = hallmark.Identity{Issuer: "https://issuer.example", Subject: "alice"}
	bob   = hallmark.Identity{Issuer: "https://issuer.example", Subject: "bob"}
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
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

// tarball is an archive of files, name then body.
func tarball(t *testing.T, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		if err := tw.WriteHeader(&tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[i+1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// replicas returns n context stores, each in its own directory, sharing one
// registry repository, on one clock.
func replicas(t *testing.T, n int) ([]*contextstore.Store, *contextshare.Share, *registrytest.Registry, *fakeClock) {
	t.Helper()
	reg := registrytest.New(t)
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	sh, err := contextshare.New(registrytest.Client(t), reg.Host+"/hallmark/contexts", contextshare.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	var out []*contextstore.Store
	for range n {
		s, err := contextstore.New(t.TempDir(), contextstore.WithShared(sh), contextstore.WithClock(clock.now), contextstore.WithTTL(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out, sh, reg, clock
}

func TestSharedAcrossReplicas(t *testing.T) {
	rs, sh, _, clock := replicas(t, 3)
	one, two, three := rs[0], rs[1], rs[2]
	ctx := t.Context()
	archive := tarball(t, "Dockerfile", "FROM scratch\n", "app/main.go", "package main\n")
	d, _, _, err := one.Put(ctx, alice, bytes.NewReader(archive), "")
	if err != nil {
		t.Fatal(err)
	}
	// Another identity gets the same answer as for a digest never uploaded.
	errBob := two.Lookup(ctx, bob, d)
	errNever := two.Lookup(ctx, bob, hallmark.SHA256([]byte("never")))
	if !errors.Is(errBob, hallmark.ErrNotFound) || strings.ReplaceAll(errBob.Error(), d.String(), "D") != strings.ReplaceAll(errNever.Error(), string(hallmark.SHA256([]byte("never"))), "D") {
		t.Fatalf("bob through replica two: %v; never uploaded: %v", errBob, errNever)
	}
	// Alice builds through replica two: it reads the archive from the share.
	if err := two.Lookup(ctx, alice, d); err != nil {
		t.Fatalf("alice's upload through replica one, looked up through two: %v", err)
	}
	got, err := two.ReadFile(ctx, d, "Dockerfile", 1<<10)
	if err != nil || string(got) != "FROM scratch\n" {
		t.Fatalf("the Dockerfile through replica two: %q, %v", got, err)
	}
	release, err := two.Use(alice, d)
	if err != nil {
		t.Fatal(err)
	}
	release()
	// Alice need not upload again through replica three.
	if ok, err := three.Reuse(ctx, alice, d); !ok || err != nil {
		t.Fatalf("reuse through replica three: %v, %v", ok, err)
	}
	// Replica two's hold ends when the shared one does, not an hour after
	// it took it.
	clock.add(59 * time.Minute)
	if err := two.Lookup(ctx, alice, d); err != nil {
		t.Fatalf("a minute before the shared hold ends: %v", err)
	}
	clock.add(time.Minute)
	if err := two.Lookup(ctx, alice, d); !errors.Is(err, hallmark.ErrNotFound) {
		t.Errorf("after the shared hold ended: %v", err)
	}
	if _, err := sh.Holds(ctx, "", d); !errors.Is(err, hallmark.ErrNotFound) {
		t.Errorf("a hold without an owner: %v", err)
	}
}

func TestSharedHoldIsRenewed(t *testing.T) {
	rs, _, _, clock := replicas(t, 2)
	one, two := rs[0], rs[1]
	ctx := t.Context()
	d, _, _, err := one.Put(ctx, alice, bytes.NewReader(tarball(t, "Dockerfile", "FROM scratch\n")), "")
	if err != nil {
		t.Fatal(err)
	}
	// Alice's next upload is skipped through replica one, 40 minutes on:
	// the shared hold is renewed with the local one.
	clock.add(40 * time.Minute)
	if ok, err := one.Reuse(ctx, alice, d); !ok || err != nil {
		t.Fatalf("reuse: %v, %v", ok, err)
	}
	clock.add(30 * time.Minute)
	if err := two.Lookup(ctx, alice, d); err != nil {
		t.Errorf("70 minutes after the upload, 30 after its reuse: %v", err)
	}
}

func TestSharedUploadFailsWhenTheShareDoes(t *testing.T) {
	rs, _, reg, _ := replicas(t, 2)
	reg.SetHook(func(w http.ResponseWriter, _ *http.Request) bool {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return true
	})
	_, _, _, err := rs[0].Put(t.Context(), alice, bytes.NewReader(tarball(t, "Dockerfile", "FROM scratch\n")), "")
	if !errors.Is(err, hallmark.ErrUnavailable) || !strings.Contains(err.Error(), "other replicas") {
		t.Fatalf("upload while the share is down: %v", err)
	}
	// A share that fails is an error, not "not uploaded".
	if err := rs[1].Lookup(t.Context(), alice, hallmark.SHA256([]byte("x"))); !errors.Is(err, hallmark.ErrUnavailable) {
		t.Errorf("lookup while the share is down: %v", err)
	}
}
