package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	if Decisions(w.got) != 1000 || written.Load() != 1000 || dropped.Load() != 0 {
		t.Errorf("wrote %d (counted %d), dropped %d; want 1000, 0", Decisions(w.got), written.Load(), dropped.Load())
	}
	// 26 distinct decisions, merged within each batch of at most 100.
	if len(w.got) > 26*len(w.batches) || len(w.got) < 26 {
		t.Errorf("%d records in %d batches: identical decisions were not merged", len(w.got), len(w.batches))
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
	if err != nil && dropped.Load()+int64(Decisions(w.got)) != 100 {
		t.Errorf("close: %v; dropped %d + written %d != 100", err, dropped.Load(), Decisions(w.got))
	}
}

func TestRecorderWritesToStore(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		r := NewRecorder(db, WithFlushInterval(time.Millisecond))
		t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		for i := range 250 {
			// Two objects: the decisions merge, listing both.
			r.Record(Decision{Kind: KindVerify, At: t0.Add(time.Duration(i) * time.Millisecond), Caller: "https://ci.example repo:x",
				Object: fmt.Sprint("Pod/p", i%2), Ref: "reg.example/a:1", Repository: "reg.example/a", Digest: digest("a"), Allowed: true})
		}
		if err := r.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		got, _, err := db.Audit(t.Context(), AuditQuery{Readable: all, Kinds: []string{KindVerify}, Page: Page{Limit: MaxLimit}})
		if err != nil || len(got) == 0 || len(got) >= 250 || got[0].Outcome != OutcomeAllowed {
			t.Fatalf("%d verify records, %v", len(got), err)
		}
		total, objects := 0, map[string]bool{}
		for _, e := range got {
			var d DecisionDetail
			if err := json.Unmarshal(e.Detail, &d); err != nil {
				t.Fatal(err)
			}
			n := max(d.Count, 1)
			total += n
			for _, o := range append([]string{d.Object}, d.Objects...) {
				objects[o] = true
			}
			if n > 1 && (d.Last == nil || !d.Last.After(e.At)) {
				t.Errorf("record %d stands for %d decisions from %s to %v", e.ID, n, e.At, d.Last)
			}
		}
		if total != 250 || len(objects) != 2 || !objects["Pod/p0"] || !objects["Pod/p1"] {
			t.Errorf("the records stand for %d decisions about %v, want 250 about Pod/p0 and Pod/p1", total, objects)
		}
		if c, err := db.VerifyAudit(t.Context()); err != nil || len(c.Problems) > 0 {
			t.Errorf("audit chain: %v %v", c, err)
		}
	})
}

func TestMerge(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	a := Decision{Kind: KindAdmission, Caller: "system:serviceaccount:kube-system:replicaset-controller", Namespace: "web", Object: "Pod/",
		Ref: "reg.example/a@" + string(digest("a")), Repository: "reg.example/a", Digest: digest("a"), Policy: "default", Allowed: true}
	with := func(d Decision, f func(*Decision)) Decision { f(&d); return d }
	tests := []struct {
		name string
		in   []Decision
		want []Decision // only Object, Count, At and Last compared
	}{
		{"none", nil, nil},
		{"one alone", []Decision{with(a, func(d *Decision) { d.At = at(0) })}, []Decision{with(a, func(d *Decision) { d.At = at(0) })}},
		{"three identical", []Decision{
			with(a, func(d *Decision) { d.At = at(5) }), with(a, func(d *Decision) { d.At = at(1) }), with(a, func(d *Decision) { d.At = at(9) }),
		}, []Decision{with(a, func(d *Decision) { d.At, d.Count, d.Last, d.Objects = at(1), 3, at(9), []string{"Pod/"} })}},
		{"merged ones merge again", []Decision{
			with(a, func(d *Decision) { d.At, d.Count, d.Last, d.Objects = at(0), 4, at(20), []string{"Pod/", "Pod/x"} }), with(a, func(d *Decision) { d.At = at(10) }),
		}, []Decision{with(a, func(d *Decision) { d.At, d.Count, d.Last, d.Objects = at(0), 5, at(20), []string{"Pod/", "Pod/x"} })}},
		{"other objects are listed", []Decision{
			with(a, func(d *Decision) { d.At, d.Object = at(0), "Pod/web-1" }), with(a, func(d *Decision) { d.At, d.Object = at(1), "Pod/web-2" }),
			with(a, func(d *Decision) { d.At, d.Object = at(2), "Pod/web-1" }),
		}, []Decision{with(a, func(d *Decision) {
			d.At, d.Object, d.Count, d.Last, d.Objects = at(0), "Pod/web-1", 3, at(2), []string{"Pod/web-1", "Pod/web-2"}
		})}},
		{"another namespace stays apart", []Decision{
			with(a, func(d *Decision) { d.At = at(0) }), with(a, func(d *Decision) { d.At, d.Namespace = at(1), "db" }), with(a, func(d *Decision) { d.At = at(2) }),
		}, []Decision{with(a, func(d *Decision) { d.At, d.Count, d.Last, d.Objects = at(0), 2, at(2), []string{"Pod/"} }), with(a, func(d *Decision) { d.At, d.Namespace = at(1), "db" })}},
		{"outcome, reasons and cache state count", []Decision{
			with(a, func(d *Decision) { d.At = at(0) }),
			with(a, func(d *Decision) { d.At, d.Allowed = at(1), false }),
			with(a, func(d *Decision) { d.At, d.Reasons = at(2), []string{"x"} }),
			with(a, func(d *Decision) { d.At, d.FailedRules = at(3), []string{"x"} }),
			with(a, func(d *Decision) { d.At, d.Cached = at(4), true }),
		}, nil},
		{"fields do not run into each other", []Decision{
			with(a, func(d *Decision) { d.At, d.Namespace, d.Object = at(0), "ab", "c" }),
			with(a, func(d *Decision) { d.At, d.Namespace, d.Object = at(1), "a", "bc" }),
			with(a, func(d *Decision) { d.At, d.Reasons = at(2), []string{"a", "b"} }),
			with(a, func(d *Decision) { d.At, d.Reasons = at(3), []string{"ab"} }),
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Merge(tt.in)
			want := tt.want
			if want == nil && len(tt.in) > 1 {
				want = tt.in // nothing merges
			}
			if len(got) != len(want) {
				t.Fatalf("got %d decisions, want %d: %+v", len(got), len(want), got)
			}
			for i := range got {
				g, w := got[i], want[i]
				if g.Object != w.Object || g.Namespace != w.Namespace || g.Count != w.Count || !g.At.Equal(w.At) || !g.Last.Equal(w.Last) ||
					!slices.Equal(g.Objects, w.Objects) {
					t.Errorf("decision %d: %s/%s %v ×%d %s–%s, want %s/%s %v ×%d %s–%s", i, g.Namespace, g.Object, g.Objects, g.Count, g.At, g.Last,
						w.Namespace, w.Object, w.Objects, w.Count, w.At, w.Last)
				}
			}
			if Decisions(got) != max(Decisions(tt.in), 0) {
				t.Errorf("stands for %d decisions, want %d", Decisions(got), Decisions(tt.in))
			}
		})
	}
}

func TestMergeBoundsObjects(t *testing.T) {
	var in []Decision
	for i := range MaxMergedObjects + 10 {
		in = append(in, Decision{Kind: KindAdmission, Namespace: "web", Object: fmt.Sprint("Pod/web-", i), Ref: "reg.example/a:1", Allowed: true})
	}
	got := Merge(in)
	if len(got) != 2 || len(got[0].Objects) != MaxMergedObjects || got[0].Count != MaxMergedObjects || got[1].Count != 10 || len(got[1].Objects) != 10 {
		t.Fatalf("merged %d decisions into %d records, the first listing %d objects", len(in), len(got), len(got[0].Objects))
	}
	if got[1].Object != fmt.Sprint("Pod/web-", MaxMergedObjects) {
		t.Errorf("the second record starts at %s", got[1].Object)
	}
}
