package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DecisionWriter is what a Recorder writes to: a *DB.
type DecisionWriter interface {
	RecordDecisions(ctx context.Context, ds []Decision) error
}

// Recorder records decisions in the background, in batches, so that a
// verification or admission never waits on the store. While the store is
// unavailable it keeps up to its buffer's worth of decisions and retries;
// decisions that arrive when the buffer is full are dropped and counted.
// Decisions of one batch identical but for their time are written as one
// record with a count (Merge).
type Recorder struct {
	w       DecisionWriter
	o       recorderOptions
	mu      sync.Mutex
	pending []Decision
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	closed  bool
}

type recorderOptions struct {
	buffer, batch int
	interval      time.Duration
	log           *slog.Logger
	dropped       func(n int)
	written       func(n int)
}

// RecorderOption configures NewRecorder.
type RecorderOption func(*recorderOptions)

// WithBuffer bounds the decisions kept while the store is slow or down.
// The default is 100,000.
func WithBuffer(n int) RecorderOption { return func(o *recorderOptions) { o.buffer = max(n, 1) } }

// WithBatch sets the most decisions written in one transaction. The
// default is 1,000.
func WithBatch(n int) RecorderOption { return func(o *recorderOptions) { o.batch = max(n, 1) } }

// WithFlushInterval sets how long a decision may wait for others to share
// its transaction. The default is 100ms.
func WithFlushInterval(d time.Duration) RecorderOption {
	return func(o *recorderOptions) { o.interval = max(d, time.Millisecond) }
}

// WithRecorderLogger sets the logger. The default discards logs.
func WithRecorderLogger(l *slog.Logger) RecorderOption { return func(o *recorderOptions) { o.log = l } }

// WithCounters sets functions called with the number of decisions
// dropped (buffer full, or still unwritten at Close) and written. The
// default counts nothing.
func WithCounters(dropped, written func(n int)) RecorderOption {
	return func(o *recorderOptions) { o.dropped, o.written = dropped, written }
}

// NewRecorder starts a recorder writing to w. Close stops it.
func NewRecorder(w DecisionWriter, opts ...RecorderOption) *Recorder {
	o := recorderOptions{buffer: 100_000, batch: 1000, interval: 100 * time.Millisecond,
		log: slog.New(slog.DiscardHandler), dropped: func(int) {}, written: func(int) {}}
	for _, opt := range opts {
		opt(&o)
	}
	r := &Recorder{w: w, o: o, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

// Record queues a decision. It never blocks.
func (r *Recorder) Record(d Decision) {
	r.mu.Lock()
	if r.closed || len(r.pending) >= r.o.buffer {
		r.mu.Unlock()
		r.o.dropped(1)
		return
	}
	r.pending = append(r.pending, d)
	full := len(r.pending) >= r.o.batch
	r.mu.Unlock()
	if full {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// Close writes what is queued, waiting until ctx ends, and stops the
// recorder. Decisions still unwritten then are counted as dropped.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	for ctx.Err() == nil {
		n, err := r.flush(ctx)
		if err == nil && n == 0 {
			break
		}
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	r.mu.Lock()
	lost := len(r.pending)
	r.pending = nil
	r.mu.Unlock()
	if lost > 0 {
		r.o.dropped(lost)
		return fmt.Errorf("close decision recorder: %d decisions not written: %w", lost, ctx.Err())
	}
	return nil
}

func (r *Recorder) run() {
	defer close(r.done)
	tick := time.NewTicker(r.o.interval)
	defer tick.Stop()
	var backoff time.Duration
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
		case <-r.wake:
		}
		if err := r.drain(); err == nil {
			backoff = 0
			continue
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
		select {
		case <-r.stop:
			return
		case <-time.After(backoff):
		}
	}
}

// drain writes full batches while there are any, then what is left.
func (r *Recorder) drain() error {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		n, err := r.flush(ctx)
		cancel()
		if err != nil || n < r.o.batch {
			return err
		}
	}
}

// flush writes one batch and returns its size.
func (r *Recorder) flush(ctx context.Context) (int, error) {
	r.mu.Lock()
	n := min(len(r.pending), r.o.batch)
	batch := r.pending[:n:n]
	r.mu.Unlock()
	if n == 0 {
		return 0, nil
	}
	merged := Merge(batch)
	if err := r.w.RecordDecisions(ctx, merged); err != nil {
		r.o.log.WarnContext(ctx, "decisions not recorded yet; will retry", "decisions", n, "error", err)
		return 0, err
	}
	r.mu.Lock()
	r.pending = r.pending[n:]
	r.mu.Unlock()
	r.o.written(Decisions(merged))
	return n, nil
}
