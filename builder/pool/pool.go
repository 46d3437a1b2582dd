package pool

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/queue"
)

// Pinger checks that a worker answers (BuildKit: ListWorkers).
type Pinger interface {
	Ping(ctx context.Context) error
}

// PingFunc is a function that is a Pinger.
type PingFunc func(ctx context.Context) error

// Ping calls f.
func (f PingFunc) Ping(ctx context.Context) error { return f(ctx) }

// Member is a worker to put into a pool: its address and its health check.
type Member struct {
	Addr   string
	Pinger Pinger
}

// Stats are a worker's numbers, for metrics.
type Stats struct {
	Addr string
	// Waiting and Running are the builds waiting for a slot of the worker
	// and running on it.
	Waiting, Running int64
	// Healthy is false from a failed health check or a build that could not
	// reach the worker until the next health check that passes.
	Healthy bool
	// Failures counts the failed health checks and the builds that found
	// the worker unreachable, since the pool started.
	Failures uint64
}

// Pool is a set of workers, fixed or replaced by Set (discovery). Its
// methods are safe for concurrent use.
type Pool struct {
	mu      sync.RWMutex
	workers []*Worker
	opts    options
}

// Worker is one member of a Pool.
type Worker struct {
	addr     string
	pinger   Pinger
	queue    *queue.Queue
	healthy  atomic.Bool
	failures atomic.Uint64
	waiting  atomic.Int64
	running  atomic.Int64
	pool     *Pool
}

// Option configures a Pool.
type Option func(*options) error

type options struct {
	logger        *slog.Logger
	maxParallel   int
	maxQueued     int
	observer      func(Stats)
	healthEvery   time.Duration
	healthTimeout time.Duration
}

// WithLogger sets the logger, which says when a worker goes down or comes
// back; nil is an error (hallmark.ErrInvalid). The default discards logs.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { return hallmark.SetLogger(&o.logger, l) }
}

// WithMaxParallel sets how many builds run at once on each worker. The
// default is 2.
func WithMaxParallel(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: max parallel builds per worker must be at least 1, got %d", hallmark.ErrInvalid, n)
		}
		o.maxParallel = n
		return nil
	}
}

// WithMaxQueued bounds how many builds may wait for a slot of each worker;
// one more is refused with an error wrapping hallmark.ErrTooLarge. The
// default is 0: no bound.
func WithMaxQueued(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("%w: max queued builds %d is negative", hallmark.ErrInvalid, n)
		}
		o.maxQueued = n
		return nil
	}
}

// WithObserver sets a function called with a worker's numbers whenever
// they change. It is called from many goroutines and must not block. The
// default is none.
func WithObserver(f func(Stats)) Option {
	return func(o *options) error { o.observer = f; return nil }
}

// WithHealthCheck sets how often Run pings every worker and how long one
// ping may take. The default is every 5s, 2s.
func WithHealthCheck(every, timeout time.Duration) Option {
	return func(o *options) error {
		if every <= 0 || timeout <= 0 {
			return fmt.Errorf("%w: health check interval %s and timeout %s must be positive", hallmark.ErrInvalid, every, timeout)
		}
		o.healthEvery, o.healthTimeout = every, timeout
		return nil
	}
}

// New returns a pool of members, each healthy until a health check or a
// build finds otherwise. Addresses must be distinct. An empty pool (workers
// not discovered yet) places nothing until Set gives it members.
func New(members []Member, opts ...Option) (*Pool, error) {
	o := options{logger: slog.New(slog.DiscardHandler), maxParallel: 2, healthEvery: 5 * time.Second, healthTimeout: 2 * time.Second}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	p := &Pool{opts: o}
	if _, err := p.Set(members); err != nil {
		return nil, err
	}
	return p, nil
}

// Set makes members the pool's workers. A worker whose address stays keeps
// its queue, health and counters; a new address joins healthy; a removed
// worker leaves the placement at once, while builds already on it finish
// there. It returns the removed workers. Addresses must be distinct; on an
// error the pool is unchanged.
func (p *Pool) Set(members []Member) (removed []*Worker, err error) {
	seen := map[string]bool{}
	for _, m := range members {
		switch {
		case m.Addr == "":
			return nil, fmt.Errorf("%w: a worker has no address", hallmark.ErrInvalid)
		case seen[m.Addr]:
			return nil, fmt.Errorf("%w: worker %s is listed twice", hallmark.ErrInvalid, m.Addr)
		case m.Pinger == nil:
			return nil, fmt.Errorf("%w: worker %s has no health check", hallmark.ErrInvalid, m.Addr)
		}
		seen[m.Addr] = true
	}
	p.mu.Lock()
	old := map[string]*Worker{}
	for _, w := range p.workers {
		old[w.addr] = w
	}
	var added, next []*Worker
	for _, m := range members {
		w, ok := old[m.Addr]
		if !ok {
			if w, err = p.newWorker(m); err != nil {
				p.mu.Unlock()
				return nil, err
			}
			added = append(added, w)
		}
		delete(old, m.Addr)
		next = append(next, w)
	}
	for _, w := range p.workers {
		if _, gone := old[w.addr]; gone {
			removed = append(removed, w)
		}
	}
	p.workers = next
	p.mu.Unlock()
	for _, w := range added {
		p.opts.logger.Info("buildkit worker joined", "worker", w.addr)
		w.observe()
	}
	for _, w := range removed {
		p.opts.logger.Info("buildkit worker left", "worker", w.addr)
	}
	return removed, nil
}

func (p *Pool) newWorker(m Member) (*Worker, error) {
	w := &Worker{addr: m.Addr, pinger: m.Pinger, pool: p}
	w.healthy.Store(true)
	q, err := queue.New(p.opts.maxParallel, queue.WithMaxWaiting(p.opts.maxQueued), queue.WithObserver(func(waiting, running int64) {
		w.waiting.Store(waiting)
		w.running.Store(running)
		w.observe()
	}))
	if err != nil {
		return nil, err
	}
	w.queue = q
	return w, nil
}

// Workers returns the workers in the order they were given.
func (p *Pool) Workers() []*Worker {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Clone(p.workers)
}

// Order returns the workers for key: the healthy ones in rendezvous-hash
// order, then the others in the same order, as a last resort (a worker may
// have come back since its last health check).
func (p *Pool) Order(key string) []*Worker {
	ranked := rank(key, p.Workers())
	healthy := make([]*Worker, 0, len(ranked))
	var down []*Worker
	for _, w := range ranked {
		if w.Healthy() {
			healthy = append(healthy, w)
		} else {
			down = append(down, w)
		}
	}
	return append(healthy, down...)
}

// Run checks every worker at once, then again at each interval
// (WithHealthCheck), until ctx is done.
func (p *Pool) Run(ctx context.Context) {
	tick := time.NewTicker(p.opts.healthEvery)
	defer tick.Stop()
	for {
		p.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Check pings every worker concurrently and records which answered.
func (p *Pool) Check(ctx context.Context) {
	workers := p.Workers()
	done := make(chan struct{}, len(workers))
	for _, w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			cctx, cancel := context.WithTimeout(ctx, p.opts.healthTimeout)
			defer cancel()
			err := w.pinger.Ping(cctx)
			if ctx.Err() != nil {
				return // stopping: no verdict
			}
			if err != nil {
				w.MarkDown(fmt.Errorf("health check: %w", err))
				return
			}
			w.markUp()
		}()
	}
	for range workers {
		<-done
	}
}

// Addr is the worker's address.
func (w *Worker) Addr() string { return w.addr }

// Healthy reports whether the worker passed its last health check and no
// build found it unreachable since.
func (w *Worker) Healthy() bool { return w.healthy.Load() }

// Stats returns the worker's numbers.
func (w *Worker) Stats() Stats {
	return Stats{Addr: w.addr, Waiting: w.waiting.Load(), Running: w.running.Load(), Healthy: w.Healthy(), Failures: w.failures.Load()}
}

// Acquire waits for a slot of the worker, as queue.Queue's Acquire does:
// a full queue is refused with an error wrapping hallmark.ErrTooLarge.
func (w *Worker) Acquire(ctx context.Context, queued func(position int) error) (release func(), err error) {
	return w.queue.Acquire(ctx, queued)
}

// MarkDown records that the worker could not be reached (err says how):
// Order puts it after every healthy worker until a health check passes.
func (w *Worker) MarkDown(err error) {
	w.failures.Add(1)
	if w.healthy.Swap(false) {
		w.pool.opts.logger.Warn("buildkit worker down", "worker", w.addr, "error", err)
	}
	w.observe()
}

func (w *Worker) markUp() {
	if !w.healthy.Swap(true) {
		w.pool.opts.logger.Info("buildkit worker up", "worker", w.addr)
		w.observe()
	}
}

func (w *Worker) observe() {
	if f := w.pool.opts.observer; f != nil {
		f(w.Stats())
	}
}
