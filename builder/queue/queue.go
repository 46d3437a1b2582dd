package queue

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Queue admits callers first come, first served, at most a fixed number at
// a time. Its methods are safe for concurrent use.
type Queue struct {
	size    int64
	sem     *semaphore.Weighted // FIFO: a free slot goes to the first waiter
	waiting atomic.Int64
	running atomic.Int64
	opts    options
}

// Option configures a Queue.
type Option func(*options) error

type options struct {
	observer   func(waiting, running int64)
	maxWaiting int64
}

// WithMaxWaiting bounds how many callers may wait for a slot: one more is
// refused at once with an error wrapping hallmark.ErrTooLarge (the gateway
// answers RESOURCE_EXHAUSTED), so that callers cannot pile up work the
// gateway holds for them. The default is 0: no bound.
func WithMaxWaiting(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("%w: max waiting %d is negative", hallmark.ErrInvalid, n)
		}
		o.maxWaiting = int64(n)
		return nil
	}
}

// WithObserver sets a function called whenever the number of waiting or
// running callers changes, for metrics. It is called from the goroutines
// of Acquire and of release, and must not block. The default is none.
func WithObserver(f func(waiting, running int64)) Option {
	return func(o *options) error { o.observer = f; return nil }
}

// New returns a Queue that lets n callers run at a time; n below 1 is an
// error wrapping hallmark.ErrInvalid.
func New(n int, opts ...Option) (*Queue, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if n < 1 {
		return nil, fmt.Errorf("%w: queue size must be at least 1, got %d", hallmark.ErrInvalid, n)
	}
	return &Queue{size: int64(n), sem: semaphore.NewWeighted(int64(n)), opts: o}, nil
}

// Acquire joins the queue and waits for a slot. Once it has joined, it
// calls queued, unless nil, with its position: the number of callers
// waiting ahead, plus one if every slot is busy, so 0 means it runs at once.
// An error from queued leaves the queue and is returned as it is. A full
// queue (WithMaxWaiting) is refused before queued is called. When ctx
// is done first, Acquire leaves the queue and the error wraps
// hallmark.ErrCanceled and context.Cause(ctx). Otherwise the caller holds a
// slot until it calls release; calling release again does nothing.
func (q *Queue) Acquire(ctx context.Context, queued func(position int) error) (release func(), err error) {
	var pos int64
	for {
		pos = q.waiting.Load()
		if max := q.opts.maxWaiting; max > 0 && pos >= max && q.running.Load() >= q.size {
			return nil, fmt.Errorf("%w: the build queue is full (%d builds wait for %d slots); try again later", hallmark.ErrTooLarge, pos, q.size)
		}
		if q.waiting.CompareAndSwap(pos, pos+1) {
			break
		}
	}
	if q.running.Load() >= q.size {
		pos++
	}
	q.observe()
	if queued != nil {
		if err := queued(int(pos)); err != nil {
			q.waiting.Add(-1)
			q.observe()
			return nil, err
		}
	}
	err = q.sem.Acquire(ctx, 1)
	q.waiting.Add(-1)
	if err != nil {
		q.observe()
		return nil, fmt.Errorf("%w: left the queue: %w", hallmark.ErrCanceled, context.Cause(ctx))
	}
	q.running.Add(1)
	q.observe()
	var once sync.Once
	return func() {
		once.Do(func() {
			q.running.Add(-1)
			q.sem.Release(1)
			q.observe()
		})
	}, nil
}

func (q *Queue) observe() {
	if q.opts.observer != nil {
		q.opts.observer(q.waiting.Load(), q.running.Load())
	}
}
