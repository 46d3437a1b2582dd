package verify

import (
	"context"
	"sync"
	"sync/atomic"
)

// flightGroup runs one verification per key at a time, shared by every
// caller that asks for the key while it runs (like singleflight). The
// shared work runs on a context of its own, detached from the first
// caller's cancellation but canceled as soon as no caller waits for it: it
// is never stopped while one caller still waits, and never runs on for
// nobody.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flight
	// joined, if set (by tests), is called under mu each time a caller
	// starts or joins a flight, with its number of waiting callers.
	joined func(waiters int)
}

// flight is one shared verification.
type flight struct {
	done    chan struct{}
	val     *Verdict
	err     error
	cancel  context.CancelFunc
	started atomic.Bool // the work got a slot (flightWork's started)
	// Under flightGroup.mu:
	waiters int  // callers waiting now
	shared  bool // more than one caller asked for it
}

// flightWork is the work of a flight. It calls started once it stops
// waiting for its turn and starts working.
type flightWork func(ctx context.Context, started func()) (*Verdict, error)

// flightResult is what do returns to one caller.
type flightResult struct {
	verdict *Verdict
	err     error
	// shared says the result went to more than one caller.
	shared bool
	// left says the caller's ctx ended first (err is then nil), and
	// started whether the work had started by then.
	left, started bool
}

// do returns the result of work for key, starting work unless a flight for
// key is running, in which case the caller joins it. work runs on
// context.WithoutCancel(ctx) (the first caller's values, such as its
// request id, without its cancellation), canceled once every caller has
// left. A caller whose ctx ends leaves at once.
func (g *flightGroup) do(ctx context.Context, key string, work flightWork) flightResult {
	g.mu.Lock()
	if g.m == nil {
		g.m = map[string]*flight{}
	}
	f, ok := g.m[key]
	if ok {
		f.waiters++
		f.shared = true
	} else {
		wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel, waiters: 1}
		g.m[key] = f
		go g.run(wctx, key, f, work)
	}
	if g.joined != nil {
		g.joined(f.waiters)
	}
	g.mu.Unlock()
	select {
	case <-f.done:
		// f left the map before done closed: no caller joins any more.
		return flightResult{verdict: f.val, err: f.err, shared: f.shared, started: true}
	case <-ctx.Done():
		g.leave(key, f)
		return flightResult{left: true, started: f.started.Load()}
	}
}

func (g *flightGroup) run(ctx context.Context, key string, f *flight, work flightWork) {
	defer f.cancel()
	v, err := work(ctx, func() { f.started.Store(true) })
	g.mu.Lock()
	if g.m[key] == f {
		delete(g.m, key)
	}
	f.val, f.err = v, err
	g.mu.Unlock()
	close(f.done)
}

// leave counts a caller out of f; the last one cancels f's work, and a
// caller that asks for key after that starts a new flight.
func (g *flightGroup) leave(key string, f *flight) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f.waiters--
	if f.waiters > 0 {
		return
	}
	f.cancel()
	if g.m[key] == f {
		delete(g.m, key)
	}
}
