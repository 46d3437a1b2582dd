package queue

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

// recorder keeps the observer's calls.
type recorder struct {
	mu    sync.Mutex
	calls [][2]int64
}

func (r *recorder) observe(waiting, running int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, [2]int64{waiting, running})
}

func (r *recorder) last() [2]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[len(r.calls)-1]
}

func newQueue(t *testing.T, n int) (*Queue, *recorder) {
	t.Helper()
	r := &recorder{}
	q, err := New(n, WithObserver(r.observe))
	if err != nil {
		t.Fatal(err)
	}
	return q, r
}

// waiter is a caller blocked in Acquire.
type waiter struct {
	pos     int
	release chan func()
	err     chan error
}

// wait starts Acquire in a goroutine and returns once it has joined.
func wait(ctx context.Context, q *Queue) *waiter {
	w := &waiter{release: make(chan func(), 1), err: make(chan error, 1)}
	joined := make(chan int)
	go func() {
		release, err := q.Acquire(ctx, func(pos int) error { joined <- pos; return nil })
		if err != nil {
			w.err <- err
			return
		}
		w.release <- release
	}()
	w.pos = <-joined
	return w
}

// waitForWaiter returns once some caller waits in the semaphore: with every
// slot busy, TryAcquire(0) succeeds only while nobody waits.
func waitForWaiter(t *testing.T, q *Queue) {
	t.Helper()
	for q.sem.TryAcquire(0) {
		if t.Context().Err() != nil {
			t.Fatal("no caller joined the wait list")
		}
		runtime.Gosched()
	}
}

func TestNewRejects(t *testing.T) {
	for _, n := range []int{0, -1} {
		if q, err := New(n); !errors.Is(err, hallmark.ErrInvalid) || q != nil {
			t.Errorf("New(%d) = %v, %v; want ErrInvalid", n, q, err)
		}
	}
}

func TestAcquireOrderAndPositions(t *testing.T) {
	q, rec := newQueue(t, 2)
	var positions []int
	got := func(pos int) error { positions = append(positions, pos); return nil }
	relA, err := q.Acquire(t.Context(), got)
	if err != nil {
		t.Fatal(err)
	}
	relB, err := q.Acquire(t.Context(), got)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 0}; fmt.Sprint(positions) != fmt.Sprint(want) {
		t.Fatalf("positions with free slots = %v, want %v", positions, want)
	}
	// Both slots are busy: C waits first, D behind it. C reports its
	// position before it joins the semaphore's wait list, so D starts only
	// once C is in it.
	c := wait(t.Context(), q)
	waitForWaiter(t, q)
	d := wait(t.Context(), q)
	if c.pos != 1 || d.pos != 2 {
		t.Fatalf("positions of C, D = %d, %d; want 1, 2", c.pos, d.pos)
	}
	if got, want := rec.last(), [2]int64{2, 2}; got != want {
		t.Errorf("observed (waiting, running) = %v, want %v", got, want)
	}

	relA()
	relA() // a second release does nothing
	var relC func()
	select {
	case relC = <-c.release:
	case <-d.release:
		t.Fatal("D got the slot before C, which waited longer")
	}
	relB()
	relD := <-d.release
	relC()
	relD()
	if got, want := rec.last(), [2]int64{0, 0}; got != want {
		t.Errorf("observed (waiting, running) at the end = %v, want %v", got, want)
	}
}

func TestAcquireCanceled(t *testing.T) {
	tests := []struct {
		name  string
		cause error
		want  string
	}{
		{name: "canceled", want: "canceled: left the queue: context canceled"},
		{name: "with a cause", cause: errors.New("client went away"), want: "canceled: left the queue: client went away"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, rec := newQueue(t, 1)
			release, err := q.Acquire(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			ctx, cancel := context.WithCancelCause(t.Context())
			w := wait(ctx, q)
			cancel(tt.cause)
			err = <-w.err
			if !errors.Is(err, hallmark.ErrCanceled) || err.Error() != tt.want {
				t.Fatalf("Acquire = %v, want ErrCanceled %q", err, tt.want)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("error %v does not wrap the cause", err)
			}
			if got, want := rec.last(), [2]int64{0, 1}; got != want {
				t.Errorf("observed (waiting, running) = %v, want %v", got, want)
			}
		})
	}
}

// TestAcquireQueuedError: an error from queued leaves the queue, and the
// next caller is not counted behind it.
func TestAcquireQueuedError(t *testing.T) {
	q, rec := newQueue(t, 1)
	release, err := q.Acquire(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	errSend := errors.New("send: stream closed")
	if _, err := q.Acquire(t.Context(), func(int) error { return errSend }); !errors.Is(err, errSend) {
		t.Fatalf("Acquire = %v, want the error of queued", err)
	}
	if got, want := rec.last(), [2]int64{0, 1}; got != want {
		t.Errorf("observed (waiting, running) = %v, want %v", got, want)
	}
	w := wait(t.Context(), q)
	if w.pos != 1 {
		t.Errorf("position after a caller left = %d, want 1", w.pos)
	}
	release()
	(<-w.release)()
}

// TestAcquireFull: with WithMaxWaiting, a caller beyond the bound is refused
// at once (ErrTooLarge) while the slots are busy, and admitted again once a
// waiter has left.
func TestAcquireFull(t *testing.T) {
	q, err := New(1, WithMaxWaiting(1))
	if err != nil {
		t.Fatal(err)
	}
	relA, err := q.Acquire(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := wait(t.Context(), q)
	called := false
	if _, err := q.Acquire(t.Context(), func(int) error { called = true; return nil }); !errors.Is(err, hallmark.ErrTooLarge) || called {
		t.Fatalf("Acquire on a full queue = %v (queued called %v); want ErrTooLarge before queued", err, called)
	}
	relA()
	relB := <-b.release
	c := wait(t.Context(), q) // B runs, C is the one waiter again
	relB()
	(<-c.release)()
	if _, err := New(1, WithMaxWaiting(-1)); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("WithMaxWaiting(-1) = %v, want ErrInvalid", err)
	}
}
