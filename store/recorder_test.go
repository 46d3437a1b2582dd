package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// flakyWriter fails its first failures calls, and blocks while gate is
// held.
type flakyWriter struct {
	mu       sync.Mutex
	failures int
	got      []Decision
	batches  []int
	gate     sync.RWMutex
}

func (w *flakyWriter) RecordDecisions(ctx context.Context, ds []Decision) error {
	w.gate.RLock()
	defer w.gate.RUnlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failures > 0 {
		w.failures--
		return errors.New("connection refused")
	}
	w.got = append(w.got, ds...)
	w.batches = append(w.batches, len(ds))
	return nil
}

func TestRecorderBatchesAndRetries(t *testing.T) {
	w := &flakyWriter{failures: 2}
	var written, dropped atomic.Int64
	r := NewRecorder(w, WithBatch(100), WithFlushInterval(5*time.Millisecond),
		WithCounters(func(n int) { dropped.Add(int64(n)) }, func(n int) { written.Add(int64(n)) }))
	for i := range 1000 {
		r.Record(Decision{Kind: KindVerify, Ref: string(rune('a' + i%26))})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(w.got) != 1000 || written.Load() != 1000 || dropped.Load() != 0 {
		t.Errorf("wrote %d (counted %d), dropped %d; want 1000, 0", len(w.got), written.Load(), dropped.Load())
	}
	for _, n := range w.batches {
		if n > 100 {
			t.Errorf("a batch of %d, over 100", n)
		}
	}
	r.Record(Decision{Kind: KindVerify})
	if dropped.Load() != 1 {
		t.Errorf("a decision after Close: dropped %d, want 1", dropped.Load())
	}
}

func TestRecorderNeverBlocks(t *testing.T) {
	w := &flakyWriter{}
	w.gate.Lock() // the store hangs
	var dropped atomic.Int64
	r := NewRecorder(w, WithBuffer(10), WithBatch(5), WithFlushInterval(time.Millisecond),
		WithCounters(func(n int) { dropped.Add(int64(n)) }, func(int) {}))
	done := make(chan struct{})
	go func() {
		for range 100 {
			r.Record(Decision{Kind: KindAdmission})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Record blocked while the store hangs")
	}
	if dropped.Load() < 90 {
		t.Errorf("dropped %d of 100 with a buffer of 10", dropped.Load())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	go func() { <-ctx.Done(); w.gate.Unlock() }()
	err := r.Close(ctx)
	if err != nil && dropped.Load()+int64(len(w.got)) != 100 {
		t.Errorf("close: %v; dropped %d + written %d != 100", err, dropped.Load(), len(w.got))
	}
}

func TestRecorderWritesToStore(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		r := NewRecorder(db, WithFlushInterval(time.Millisecond))
		for range 250 {
			r.Record(Decision{Kind: KindVerify, Caller: "https://ci.example repo:x", Ref: "reg.example/a:1", Repository: "reg.example/a", Digest: digest("a"), Allowed: true})
		}
		if err := r.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		got, _, err := db.Audit(t.Context(), AuditQuery{Readable: all, Kinds: []string{KindVerify}, Page: Page{Limit: MaxLimit}})
		if err != nil || len(got) != 250 || got[0].Outcome != OutcomeAllowed {
			t.Errorf("%d verify records, %v", len(got), err)
		}
	})
}
