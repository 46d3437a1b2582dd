package builder

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/moby/buildkit/client"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/pool"
)

// WithDiscovery finds the workers with lookup (pool.DNS: the addresses of
// a headless Service) at start and then every interval, instead of (or on
// top of) the addresses New takes: a worker that appears joins the pool, one
// that disappears leaves the placement at once, and builds already on it
// finish there. A failed lookup keeps the workers the last one found. The
// default is no discovery.
func WithDiscovery(lookup func(ctx context.Context) ([]string, error), every time.Duration) Option {
	return func(o *options) error {
		if lookup == nil || every <= 0 {
			return fmt.Errorf("%w: worker discovery needs a lookup and a positive interval, got %s", hallmark.ErrInvalid, every)
		}
		o.discover, o.discoverEvery = lookup, every
		return nil
	}
}

// conns are the connections to the workers, by address, each shared by
// the builds on it. A removed worker's connection closes once no build
// holds or waits for its slots.
type conns struct {
	mu      sync.Mutex
	m       map[string]*client.Client
	retired map[*pool.Worker]*client.Client
}

func newConns() *conns {
	return &conns{m: map[string]*client.Client{}, retired: map[*pool.Worker]*client.Client{}}
}

// get returns the connection to addr, or nil.
func (c *conns) get(addr string) *client.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[addr]
}

// dial returns the connection to addr, making it if there is none.
// client.New dials lazily and reconnects, so a daemon that starts after
// the gateway is found by the next health check or build.
func (c *conns) dial(addr string) (*client.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if bk, ok := c.m[addr]; ok {
		return bk, nil
	}
	bk, err := client.New(context.Background(), addr)
	if err != nil {
		return nil, fmt.Errorf("%w: connect to buildkit at %s: %w", hallmark.ErrUnavailable, addr, err)
	}
	c.m[addr] = bk
	return bk, nil
}

// retire moves the connections of removed workers aside and closes those
// of retired workers nothing uses any more.
func (c *conns) retire(removed []*pool.Worker) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range removed {
		if bk, ok := c.m[w.Addr()]; ok {
			c.retired[w] = bk
			delete(c.m, w.Addr())
		}
	}
	for w, bk := range c.retired {
		if s := w.Stats(); s.Running == 0 && s.Waiting == 0 {
			_ = bk.Close()
			delete(c.retired, w)
		}
	}
}

func (c *conns) closeAll() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, bk := range c.m {
		errs = append(errs, bk.Close())
	}
	for _, bk := range c.retired {
		errs = append(errs, bk.Close())
	}
	return errors.Join(errs...)
}

// members connects to addrs and describes them to the pool.
func (b *Builder) members(addrs []string) ([]pool.Member, error) {
	members := make([]pool.Member, 0, len(addrs))
	for _, addr := range addrs {
		if _, err := b.conns.dial(addr); err != nil {
			return nil, err
		}
		members = append(members, pool.Member{Addr: addr, Pinger: pool.PingFunc(func(ctx context.Context) error {
			return b.ping(ctx, addr)
		})})
	}
	return members, nil
}

// discover looks the workers up once and makes them, with the static ones,
// the pool's.
func (b *Builder) discover(ctx context.Context, static []string) {
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	found, err := b.opts.discover(lctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			b.opts.logger.WarnContext(ctx, "discover buildkit workers; keeping the known ones", "error", err)
		}
		return
	}
	addrs := slices.Clone(static)
	for _, a := range found {
		if !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	members, err := b.members(addrs)
	if err == nil {
		var removed []*pool.Worker
		if removed, err = b.pool.Set(members); err == nil {
			b.conns.retire(removed)
			return
		}
	}
	b.opts.logger.WarnContext(ctx, "use discovered buildkit workers; keeping the known ones", "error", err)
}

// discoverEvery runs discover at each interval until ctx is done.
func (b *Builder) discoverEvery(ctx context.Context, static []string) {
	tick := time.NewTicker(b.opts.discoverEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			b.discover(ctx, static)
		}
	}
}
