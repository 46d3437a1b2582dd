package contextshare

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newShare(t *testing.T) (*Share, *registrytest.Registry, *clock) {
	t.Helper()
	reg := registrytest.New(t)
	c := &clock{now: t0}
	s, err := New(registrytest.Client(t), reg.Host+"/hallmark/contexts", WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	return s, reg, c
}

// opener opens content and counts how often.
func opener(content []byte, n *atomic.Int32) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		n.Add(1)
		return io.NopCloser(bytes.NewReader(content)), nil
	}
}

const alice, bob = "a11ce0000000000000000000000000000000000000000000000000000000000a", "b0b00000000000000000000000000000000000000000000000000000000000b"

func TestPublishHoldsOpen(t *testing.T) {
	s, _, c := newShare(t)
	ctx := t.Context()
	content := []byte("a context archive")
	d := hallmark.SHA256(content)
	var opens atomic.Int32
	if err := s.Publish(ctx, alice, d, int64(len(content)), opener(content, &opens), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	exp, err := s.Holds(ctx, alice, d)
	if err != nil || !exp.Equal(t0.Add(time.Hour)) {
		t.Fatalf("alice's hold: %v, %v", exp, err)
	}
	rc, err := s.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read back %q, %v", got, err)
	}
	// Another identity holds nothing by naming the digest.
	if _, err := s.Holds(ctx, bob, d); !errors.Is(err, hallmark.ErrNotFound) {
		t.Errorf("bob's hold of alice's context: %v", err)
	}
	// Bob's own upload of the same content does not send it again.
	if err := s.Publish(ctx, bob, d, int64(len(content)), opener(content, &opens), t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := opens.Load(); n != 1 {
		t.Errorf("the archive was opened %d times for two holds, want once", n)
	}
	// Renewal moves the expiry.
	if err := s.Publish(ctx, alice, d, int64(len(content)), opener(content, &opens), t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if exp, err := s.Holds(ctx, alice, d); err != nil || !exp.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("renewed hold: %v, %v", exp, err)
	}
	c.now = t0.Add(3 * time.Hour)
	if _, err := s.Holds(ctx, alice, d); !errors.Is(err, hallmark.ErrNotFound) {
		t.Errorf("an expired hold: %v", err)
	}
	if _, err := s.Holds(ctx, alice, hallmark.SHA256([]byte("never uploaded"))); !errors.Is(err, hallmark.ErrNotFound) {
		t.Errorf("a hold never made: %v", err)
	}
}

func TestOpenChecksTheDigest(t *testing.T) {
	s, reg, _ := newShare(t)
	ctx := t.Context()
	content := []byte("the real archive")
	d := hallmark.SHA256(content)
	var opens atomic.Int32
	if err := s.Publish(ctx, alice, d, int64(len(content)), opener(content, &opens), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A registry that answers with other bytes of the same length.
	reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/blobs/"+d.String()) && r.Method == http.MethodGet {
			_, _ = w.Write([]byte("the fake archive"))
			return true
		}
		return false
	})
	rc, err := s.Open(ctx, d)
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if err == nil {
		t.Fatal("other bytes under the archive's digest were read without an error")
	}
}

func TestHoldsRefusesAForeignManifest(t *testing.T) {
	s, reg, _ := newShare(t)
	ctx := t.Context()
	d := hallmark.SHA256([]byte("alice's"))
	// Something else pushed under the tag of alice's hold of d.
	reg.PushRandom(t, "hallmark/contexts", tag(alice, d))
	if _, err := s.Holds(ctx, alice, d); err == nil {
		t.Fatal("a manifest that is no hold counts as one")
	}
	// A hold of other content under the same tag (a cut tag could collide).
	other := []byte("other")
	var opens atomic.Int32
	if err := s.Publish(ctx, alice, hallmark.SHA256(other), int64(len(other)), opener(other, &opens), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(s.repo.Tag(tag(alice, hallmark.SHA256(other))), s.reg.RemoteOptions(ctx)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(s.repo.Tag(tag(alice, d)), registry.OCIManifest(desc.Manifest), s.reg.RemoteOptions(ctx)...); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Holds(ctx, alice, d); !errors.Is(err, hallmark.ErrNotFound) {
		t.Errorf("a hold of other content under d's tag: %v", err)
	}
}

func TestSweep(t *testing.T) {
	s, _, c := newShare(t)
	ctx := t.Context()
	if n, err := s.Sweep(ctx, 100); err != nil || n != 0 {
		t.Fatalf("sweep of an empty repository: %d, %v", n, err)
	}
	var opens atomic.Int32
	for i, exp := range []time.Duration{time.Hour, 2 * time.Hour, 3 * time.Hour} {
		content := []byte{byte(i)}
		if err := s.Publish(ctx, alice, hallmark.SHA256(content), 1, opener(content, &opens), t0.Add(exp)); err != nil {
			t.Fatal(err)
		}
	}
	c.now = t0.Add(2 * time.Hour)
	if n, err := s.Sweep(ctx, 100); err != nil || n != 2 {
		t.Fatalf("swept %d, %v; want the 2 expired", n, err)
	}
	if _, err := s.Holds(ctx, alice, hallmark.SHA256([]byte{2})); err != nil {
		t.Errorf("the live hold after the sweep: %v", err)
	}
	if n, err := s.Sweep(ctx, 100); err != nil || n != 0 {
		t.Errorf("second sweep: %d, %v", n, err)
	}
}
