package builder

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/contextstore"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

// countingStore counts extractions.
type countingStore struct {
	*contextstore.Store
	extracts atomic.Int32
}

func (s *countingStore) Extract(ctx context.Context, d hallmark.Digest, dest string) error {
	s.extracts.Add(1)
	return s.Store.Extract(ctx, d, dest)
}

func contextTar(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestExtractAfterAdmission: a build waiting for a queue slot has read and
// pinned its Dockerfile but holds no extracted context.
func TestExtractAfterAdmission(t *testing.T) {
	reg := registrytest.New(t)
	base, _ := reg.PushRandom(t, "base", "")
	dockerfile := "FROM " + base.String() + "\nUSER 65532\n"
	store, err := contextstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	owner := hallmark.Identity{Issuer: "https://issuer.example", Subject: "ci"}
	d, _, _, err := store.Put(t.Context(), owner, bytes.NewReader(contextTar(t, map[string]string{"Dockerfile": dockerfile, "main.go": "package main\n"})), "")
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingStore{Store: store}
	b, err := New([]string{"unix:///nonexistent.sock"}, counting, WithRegistry(registrytest.Client(t)), WithMaxParallel(1))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	worker := placed{w: b.pool.Workers()[0]}
	busy, err := worker.w.Acquire(t.Context(), nil) // the only slot
	if err != nil {
		t.Fatal(err)
	}

	work := t.TempDir()
	req := hallmark.BuildRequest{ContextDigest: d, Requester: owner, Repository: reg.Host + "/app", Readable: []string{reg.Host + "/**"}}
	queued := make(chan hallmark.Accepted)
	type result struct {
		a   admitted
		err error
	}
	done := make(chan result, 1)
	go func() {
		a, err := b.admit(t.Context(), worker, req, work, func(e hallmark.Event) error {
			if e.Accepted != nil {
				queued <- *e.Accepted
			}
			return nil
		})
		done <- result{a, err}
	}()
	var acc hallmark.Accepted
	select {
	case acc = <-queued:
	case r := <-done:
		t.Fatalf("admit returned before queueing: %v", r.err)
	}
	if acc.QueuePosition != 1 || len(acc.Bases) != 1 || acc.Bases[0].Digest == "" {
		t.Errorf("accepted = %+v, want position 1 and the pinned base", acc)
	}
	if n := counting.extracts.Load(); n != 0 {
		t.Errorf("%d extractions while waiting for a slot, want 0", n)
	}
	if entries, _ := os.ReadDir(work); len(entries) != 0 {
		t.Errorf("the work dir holds %d entries while waiting, want none", len(entries))
	}

	busy()
	r := <-done
	if r.err != nil {
		t.Fatalf("admit: %v", r.err)
	}
	defer r.a.release()
	defer r.a.slot()
	if n := counting.extracts.Load(); n != 1 {
		t.Errorf("%d extractions after admission, want 1", n)
	}
	if got, err := os.ReadFile(filepath.Join(r.a.in.dockerfileDir, r.a.in.dockerfileKey)); err != nil || string(got) != dockerfile || string(r.a.in.dockerfile) != dockerfile {
		t.Errorf("extracted Dockerfile = %q, %v; inspected %q; want %q", got, err, r.a.in.dockerfile, dockerfile)
	}
}

// TestAdmitOwnContextsOnly: a build names a context its requester holds.
func TestAdmitOwnContextsOnly(t *testing.T) {
	store, err := contextstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	owner := hallmark.Identity{Issuer: "https://issuer.example", Subject: "ci"}
	d, _, _, err := store.Put(t.Context(), owner, bytes.NewReader(contextTar(t, map[string]string{"Dockerfile": "FROM scratch\n"})), "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := New([]string{"unix:///nonexistent.sock"}, store, WithRegistry(registrytest.Client(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	other := hallmark.Identity{Issuer: owner.Issuer, Subject: "other"}
	_, err = b.admit(t.Context(), placed{w: b.pool.Workers()[0]}, hallmark.BuildRequest{ContextDigest: d, Requester: other}, t.TempDir(), func(hallmark.Event) error { return nil })
	if !errors.Is(err, hallmark.ErrNotFound) {
		t.Fatalf("admit for another identity = %v, want ErrNotFound", err)
	}
}
