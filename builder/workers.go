package builder

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/grpcerrors"
	"google.golang.org/grpc/codes"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/pool"
)

// WorkerStats are one BuildKit worker's numbers: its address, builds
// waiting and running, health and failures (WithWorkerObserver).
type WorkerStats = pool.Stats

// WithWorkerObserver sets a function called with a worker's numbers
// whenever they change, for metrics labelled by worker. It must not block.
// The default is none.
func WithWorkerObserver(f func(WorkerStats)) Option {
	return func(o *options) error { o.onWorker = f; return nil }
}

// WithHealthCheck sets how often every worker is pinged (BuildKit's
// ListWorkers) and how long one ping may take; a worker that fails is
// skipped until one passes. The default is every 5s, 2s.
func WithHealthCheck(every, timeout time.Duration) Option {
	return func(o *options) error {
		o.health = append(o.health, pool.WithHealthCheck(every, timeout))
		return nil
	}
}

// newPool connects (lazily) to every worker and makes the pool of them.
func (b *Builder) newPool(addrs []string) error {
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			return fmt.Errorf("%w: buildkit worker %s is listed twice", hallmark.ErrInvalid, a)
		}
		seen[a] = true
	}
	members, err := b.members(addrs)
	if err != nil {
		return err
	}
	opts := append([]pool.Option{
		pool.WithLogger(b.opts.logger),
		pool.WithMaxParallel(b.opts.maxParallel),
		pool.WithMaxQueued(b.opts.maxQueued),
		pool.WithObserver(b.observeWorker),
	}, b.opts.health...)
	p, err := pool.New(members, opts...)
	if err != nil {
		return err
	}
	b.pool = p
	return nil
}

// observeWorker passes a worker's numbers on, and the sums over the pool
// to the queue observer.
func (b *Builder) observeWorker(s WorkerStats) {
	if b.opts.onWorker != nil {
		b.opts.onWorker(s)
	}
	if b.opts.onQueue == nil || b.pool == nil {
		return
	}
	var waiting, running int64
	for _, w := range b.pool.Workers() {
		st := w.Stats()
		waiting += st.Waiting
		running += st.Running
	}
	b.opts.onQueue(waiting, running)
}

// placed is the worker a build runs on and the connection to it.
type placed struct {
	w *pool.Worker
	c *client.Client
}

// addr is the worker's address.
func (p placed) addr() string { return p.w.Addr() }

// PlacementKey is what places a build on a worker (pool.Pool's Order): its
// cache scope (the repository when empty) and repository, so that the
// builds of one repository of one tenant reuse one worker's cache.
func PlacementKey(req hallmark.BuildRequest) string {
	return cmp.Or(req.CacheScope, req.Repository) + "\x00" + req.Repository
}

// connect returns the first worker of order that answers a ping, and the
// workers after it. A worker that does not answer is marked down. When none
// answers, the error wraps hallmark.ErrUnavailable.
func (b *Builder) connect(ctx context.Context, order []*pool.Worker) (placed, []*pool.Worker, error) {
	var failed []string
	for i, w := range order {
		pctx, cancel := context.WithTimeout(ctx, b.opts.pingTimeout)
		err := b.ping(pctx, w.Addr())
		cancel()
		if err == nil {
			return placed{w: w, c: b.conns.get(w.Addr())}, order[i+1:], nil
		}
		if ctx.Err() != nil {
			return placed{}, nil, fmt.Errorf("%w: %w", hallmark.ErrCanceled, context.Cause(ctx))
		}
		why := fmt.Sprintf("buildkit at %s did not answer within %s: %v", w.Addr(), b.opts.pingTimeout, grpcerrors.Code(err))
		w.MarkDown(errors.New(why))
		if len(order) > 1 {
			b.opts.logger.WarnContext(ctx, "buildkit worker did not answer; trying the next", "worker", w.Addr(), "error", err)
		}
		failed = append(failed, why)
	}
	if len(failed) == 0 {
		return placed{}, nil, fmt.Errorf("%w: no buildkit worker", hallmark.ErrUnavailable)
	}
	return placed{}, nil, fmt.Errorf("%w: %s", hallmark.ErrUnavailable, strings.Join(failed, "; "))
}

// ping asks the worker at addr to list its BuildKit workers (its OCI
// worker): the cheapest call that shows it serves.
func (b *Builder) ping(ctx context.Context, addr string) error {
	if b.pingWorker != nil {
		return b.pingWorker(ctx, addr)
	}
	c := b.conns.get(addr)
	if c == nil {
		return fmt.Errorf("buildkit worker %s left the pool", addr)
	}
	_, err := c.ListWorkers(ctx)
	return err
}

// unreachable reports whether err, of a solve that received no progress
// yet, says the worker could not be dialed: nothing of the build reached
// it, so the build may move to another worker. A connection closed before
// the server's HTTP/2 preface ("error reading server preface": a worker
// dying as it was dialed) is one: gRPC sends no call on a connection
// whose preface it has not read. So is a write to a connection the worker
// closed ("broken pipe"): nothing written after it was closed reached it,
// and a worker that died with the build has lost the build anyway.
func unreachable(err error) bool {
	if grpcerrors.Code(err) != codes.Unavailable {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "while dialing") || strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such file or directory") ||
		strings.Contains(msg, "error reading server preface") || strings.Contains(msg, "broken pipe")
}

// unreachableError is a solve that could not reach its worker: nothing of
// the build was sent.
type unreachableError struct {
	addr string
	err  error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("buildkit at %s could not be reached: %v", e.addr, grpcerrors.Code(e.err))
}

// Unwrap makes it an unavailable error.
func (e *unreachableError) Unwrap() []error { return []error{hallmark.ErrUnavailable, e.err} }

// solveOnPool runs the solve on p. When p turns out unreachable before the
// solve started (an *unreachableError), it marks p down and moves the build
// to the next worker of rest that answers, taking a slot there (swapping it
// for the one in *slot), and so on. A worker lost after the solve started
// fails the build as unavailable (solve marks it down); the build never
// moves then. It returns the worker that ran the solve; id names the build
// in logs.
func (b *Builder) solveOnPool(ctx context.Context, id string, p placed, rest []*pool.Worker, slot *func(), solve func(placed) (hallmark.Digest, error)) (hallmark.Digest, placed, error) {
	for {
		dgst, err := solve(p)
		ue, ok := errors.AsType[*unreachableError](err)
		if !ok {
			return dgst, p, err
		}
		p.w.MarkDown(ue)
		b.opts.logger.WarnContext(ctx, "buildkit worker unreachable before the build started; moving the build to the next worker",
			"build_id", id, "worker", p.addr(), "error", ue.err)
		next, after, cerr := b.connect(ctx, rest)
		if cerr != nil {
			return "", p, fmt.Errorf("%w; and no other worker: %w", ue, cerr)
		}
		release, aerr := next.w.Acquire(ctx, nil)
		if aerr != nil {
			return "", p, aerr
		}
		(*slot)()
		*slot = release
		p, rest = next, after
	}
}
