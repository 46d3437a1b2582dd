package pool

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// fake is a worker whose health check answers as up says.
type fake struct {
	mu sync.Mutex
	up bool
}

func (f *fake) Ping(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.up {
		return errors.New("connection refused")
	}
	return nil
}

func (f *fake) set(up bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.up = up
}

func addrs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("tcp://buildkitd-%d.buildkitd.hallmark-buildkit.svc:1234", i)
	}
	return out
}

func newPool(t *testing.T, addrs []string, opts ...Option) (*Pool, map[string]*fake) {
	t.Helper()
	fakes := map[string]*fake{}
	var members []Member
	for _, a := range addrs {
		fakes[a] = &fake{up: true}
		members = append(members, Member{Addr: a, Pinger: fakes[a]})
	}
	p, err := New(members, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p, fakes
}

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("registry.example.com/team-%d/app-%d", i%37, i)
	}
	return out
}

// placement maps each key to the address of its first worker.
func placement(p *Pool, keys []string) map[string]string {
	m := map[string]string{}
	for _, k := range keys {
		m[k] = p.Order(k)[0].Addr()
	}
	return m
}

// TestHashStability: adding a worker to n moves about 1/(n+1) of the keys,
// all of them to the new worker; removing one moves only its own keys.
// Placement is the same in every process (a fixed hash) and spreads the
// keys evenly.
func TestHashStability(t *testing.T) {
	ks := keys(6000)
	for _, n := range []int{1, 2, 3, 4, 8} {
		t.Run(fmt.Sprintf("%d to %d workers", n, n+1), func(t *testing.T) {
			before, _ := newPool(t, addrs(n))
			after, _ := newPool(t, addrs(n+1))
			added := addrs(n + 1)[n]
			was, is := placement(before, ks), placement(after, ks)
			moved := 0
			for _, k := range ks {
				if was[k] != is[k] {
					moved++
					if is[k] != added {
						t.Fatalf("key %s moved from %s to %s, not to the new worker", k, was[k], is[k])
					}
				}
			}
			want := float64(len(ks)) / float64(n+1)
			if f := float64(moved); f < 0.85*want || f > 1.15*want {
				t.Errorf("adding a worker moved %d of %d keys, want about %.0f (1/%d)", moved, len(ks), want, n+1)
			}
			// Removing the added worker again moves back exactly its keys.
			for k, a := range placement(before, ks) {
				if a != was[k] {
					t.Fatalf("placement of %s is not stable: %s, then %s", k, was[k], a)
				}
			}
			per := map[string]int{}
			for _, a := range is {
				per[a]++
			}
			for a, c := range per {
				if f := float64(c); f < 0.85*want || f > 1.15*want {
					t.Errorf("worker %s has %d of %d keys, want about %.0f", a, c, len(ks), want)
				}
			}
		})
	}
	// A known placement: the hash is fixed, so replicas agree.
	p, _ := newPool(t, addrs(3))
	if got := p.Order("registry.example.com/acme/app")[0].Addr(); got != rank("registry.example.com/acme/app", p.workers)[0].addr || score("k", "a") != 0x44c338b548249880 {
		t.Errorf("placement = %s, score(k, a) = %#x; the hash changed", got, score("k", "a"))
	}
}

// TestOrderSkipsUnhealthy: a worker that failed its health check goes
// after every healthy one, in hash order, and comes back first once a
// check passes.
func TestOrderSkipsUnhealthy(t *testing.T) {
	tests := []struct {
		name string
		down []int // indexes into the key's hash order
		want []int // the order Order returns, as indexes into the hash order
	}{
		{name: "all up", down: nil, want: []int{0, 1, 2}},
		{name: "first down", down: []int{0}, want: []int{1, 2, 0}},
		{name: "second down", down: []int{1}, want: []int{0, 2, 1}},
		{name: "two down", down: []int{0, 1}, want: []int{2, 0, 1}},
		{name: "all down", down: []int{0, 1, 2}, want: []int{0, 1, 2}},
	}
	const key = "registry.example.com/acme/app"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fakes := newPool(t, addrs(3))
			hashed := p.Order(key)
			for _, i := range tt.down {
				fakes[hashed[i].Addr()].set(false)
			}
			p.Check(t.Context())
			got := p.Order(key)
			for i, j := range tt.want {
				if got[i] != hashed[j] {
					t.Fatalf("Order = %v, want hash positions %v of %v", names(got), tt.want, names(hashed))
				}
			}
			for _, i := range tt.down {
				if s := hashed[i].Stats(); s.Healthy || s.Failures != 1 {
					t.Errorf("stats of the worker down = %+v, want unhealthy with 1 failure", s)
				}
			}
			for _, f := range fakes {
				f.set(true)
			}
			p.Check(t.Context())
			if got := p.Order(key); got[0] != hashed[0] || !got[0].Healthy() {
				t.Errorf("after recovery Order = %v, want %v", names(got), names(hashed))
			}
		})
	}
}

func names(ws []*Worker) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Addr()
	}
	return out
}

// TestMarkDown: a build that could not reach its worker marks it down at
// once, before any health check, and the observer sees it.
func TestMarkDown(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]Stats{}
	p, _ := newPool(t, addrs(2), WithObserver(func(s Stats) { mu.Lock(); seen[s.Addr] = s; mu.Unlock() }))
	first := p.Order("k")[0]
	first.MarkDown(errors.New("dial: connection refused"))
	if got := p.Order("k"); got[0] == first || got[1] != first {
		t.Errorf("Order after MarkDown = %v, want %s last", names(got), first.Addr())
	}
	mu.Lock()
	defer mu.Unlock()
	if s := seen[first.Addr()]; s.Healthy || s.Failures != 1 {
		t.Errorf("observed %+v, want unhealthy with 1 failure", s)
	}
	if len(seen) != 2 {
		t.Errorf("observed %d workers, want both from the start", len(seen))
	}
}

// TestPerWorkerBounds: each worker runs at most maxParallel builds and
// queues at most maxQueued; a full worker refuses with ErrTooLarge while
// another worker still has room.
func TestPerWorkerBounds(t *testing.T) {
	tests := []struct{ parallel, queued int }{{1, 1}, {2, 1}, {3, 2}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("parallel %d queued %d", tt.parallel, tt.queued), func(t *testing.T) {
			p, _ := newPool(t, addrs(2), WithMaxParallel(tt.parallel), WithMaxQueued(tt.queued))
			a, b := p.Workers()[0], p.Workers()[1]
			var releases []func()
			for range tt.parallel {
				rel, err := a.Acquire(t.Context(), nil)
				if err != nil {
					t.Fatal(err)
				}
				releases = append(releases, rel)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			waiting := make(chan error, tt.queued)
			for range tt.queued {
				joined := make(chan struct{})
				go func() {
					rel, err := a.Acquire(ctx, func(int) error { close(joined); return nil })
					if rel != nil {
						rel()
					}
					waiting <- err
				}()
				<-joined
			}
			if s := a.Stats(); s.Running != int64(tt.parallel) || s.Waiting != int64(tt.queued) {
				t.Errorf("stats = %+v, want %d running and %d waiting", s, tt.parallel, tt.queued)
			}
			if _, err := a.Acquire(t.Context(), nil); !errors.Is(err, hallmark.ErrTooLarge) {
				t.Errorf("Acquire on a full worker = %v, want ErrTooLarge", err)
			}
			relB, err := b.Acquire(t.Context(), nil)
			if err != nil {
				t.Errorf("Acquire on the other worker = %v, want a slot", err)
			} else {
				relB()
			}
			cancel()
			for range tt.queued {
				if err := <-waiting; !errors.Is(err, hallmark.ErrCanceled) {
					t.Errorf("waiter = %v, want ErrCanceled", err)
				}
			}
			for _, r := range releases {
				r()
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	ok := PingFunc(func(context.Context) error { return nil })
	tests := []struct {
		name    string
		members []Member
		opts    []Option
	}{
		{name: "no address", members: []Member{{Pinger: ok}}},
		{name: "twice", members: []Member{{Addr: "tcp://a:1", Pinger: ok}, {Addr: "tcp://a:1", Pinger: ok}}},
		{name: "no pinger", members: []Member{{Addr: "tcp://a:1"}}},
		{name: "parallel 0", members: []Member{{Addr: "tcp://a:1", Pinger: ok}}, opts: []Option{WithMaxParallel(0)}},
		{name: "health interval 0", members: []Member{{Addr: "tcp://a:1", Pinger: ok}}, opts: []Option{WithHealthCheck(0, time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := New(tt.members, tt.opts...); !errors.Is(err, hallmark.ErrInvalid) || p != nil {
				t.Errorf("New = %v, %v; want ErrInvalid", p, err)
			}
		})
	}
}

// TestRunChecksPeriodically: Run finds a worker that went down and came
// back without any build touching it.
func TestRunChecksPeriodically(t *testing.T) {
	seen := make(chan bool, 64)
	p, fakes := newPool(t, addrs(1), WithHealthCheck(time.Millisecond, time.Second), WithObserver(func(s Stats) {
		select {
		case seen <- s.Healthy:
		default:
		}
	}))
	<-seen // the initial state
	w := p.Workers()[0]
	fakes[w.Addr()].set(false)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for healthy := range seen {
		if !healthy {
			break
		}
	}
	if w.Healthy() {
		t.Fatal("the worker is healthy after a failed check")
	}
	fakes[w.Addr()].set(true)
	for healthy := range seen {
		if healthy {
			break
		}
	}
	if !w.Healthy() {
		t.Fatal("the worker is not healthy after a passing check")
	}
}

// TestSet: a worker that stays keeps its queue and health, a new one joins
// healthy, a removed one leaves the placement while a build on it keeps its
// slot; keys of the workers that stay do not move.
func TestSet(t *testing.T) {
	all := addrs(3)
	p, fakes := newPool(t, all[:2])
	ks := keys(600)
	was := placement(p, ks)
	kept := p.Workers()[0]
	kept.MarkDown(errors.New("refused"))
	gone := p.Workers()[1]
	release, err := gone.Acquire(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fakes[all[2]] = &fake{up: true}
	removed, err := p.Set([]Member{{Addr: all[0], Pinger: fakes[all[0]]}, {Addr: all[2], Pinger: fakes[all[2]]}})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != gone {
		t.Fatalf("Set removed %v, want %s", names(removed), gone.Addr())
	}
	if got := p.Workers(); len(got) != 2 || got[0] != kept || got[1].Addr() != all[2] || !got[1].Healthy() {
		t.Fatalf("workers after Set = %v, want %s (the same worker) and a healthy %s", names(got), all[0], all[2])
	}
	if kept.Healthy() || kept.Stats().Failures != 1 {
		t.Errorf("the worker that stayed lost its state: %+v", kept.Stats())
	}
	if s := gone.Stats(); s.Running != 1 {
		t.Errorf("the build on the removed worker lost its slot: %+v", s)
	}
	release()
	p.Check(t.Context()) // the kept worker answers again
	for k, a := range placement(p, ks) {
		if a != was[k] && was[k] != gone.Addr() && a != all[2] {
			t.Fatalf("key %s moved from %s to %s: only the removed worker's keys and those the new one takes may move", k, was[k], a)
		}
		if a == gone.Addr() {
			t.Fatalf("key %s still placed on the removed worker", k)
		}
	}
	if _, err := p.Set([]Member{{Addr: all[0], Pinger: fakes[all[0]]}, {Addr: all[0], Pinger: fakes[all[0]]}}); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("Set with a duplicate = %v, want ErrInvalid", err)
	}
	if got := p.Workers(); len(got) != 2 {
		t.Errorf("a refused Set changed the pool: %v", names(got))
	}
}

// resolver answers lookups from a map.
type resolver map[string][]netip.Addr

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ips, ok := r[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	return ips, nil
}

func TestDNS(t *testing.T) {
	r := resolver{
		"buildkitd.ns.svc": {netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("::ffff:10.0.0.5"), netip.MustParseAddr("fd00::1")},
		"empty.ns.svc":     {},
	}
	tests := []struct {
		host    string
		want    []string
		wantErr string
	}{
		{host: "buildkitd.ns.svc", want: []string{"tcp://10.0.0.5:1234", "tcp://10.0.0.7:1234", "tcp://[fd00::1]:1234"}},
		{host: "empty.ns.svc", wantErr: "no address"},
		{host: "missing.ns.svc", wantErr: "no such host"},
	}
	for _, tt := range tests {
		got, err := DNS(r, tt.host, "1234")(t.Context())
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("DNS(%s) = %v, %v; want an error containing %q", tt.host, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("DNS(%s) = %v, %v; want %v", tt.host, got, err, tt.want)
		}
	}
}

// srvResolver answers SRV lookups from a map.
type srvResolver map[string][]*net.SRV

func (r srvResolver) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	if service != "" || proto != "" {
		return "", nil, errors.New("want the whole name")
	}
	srvs, ok := r[name]
	if !ok {
		return "", nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return name, srvs, nil
}

func TestSRV(t *testing.T) {
	r := srvResolver{
		"_grpc._tcp.buildkitd.ns.svc.cluster.local": {
			{Target: "buildkitd-1.buildkitd.ns.svc.cluster.local.", Port: 1234},
			{Target: "buildkitd-0.buildkitd.ns.svc.cluster.local.", Port: 1234},
			{Target: "buildkitd-0.buildkitd.ns.svc.cluster.local.", Port: 1234},
			{Target: ".", Port: 1234}, // "no such service"
		},
		"_grpc._tcp.none.ns.svc.cluster.local": {},
	}
	tests := []struct {
		name    string
		want    []string
		wantErr string
	}{
		{name: "_grpc._tcp.buildkitd.ns.svc.cluster.local",
			want: []string{"tcp://buildkitd-0.buildkitd.ns.svc.cluster.local:1234", "tcp://buildkitd-1.buildkitd.ns.svc.cluster.local:1234"}},
		{name: "_grpc._tcp.none.ns.svc.cluster.local", wantErr: "no record"},
		{name: "_grpc._tcp.missing.ns.svc.cluster.local", wantErr: "no such host"},
	}
	for _, tt := range tests {
		got, err := SRV(r, tt.name)(t.Context())
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SRV(%s) = %v, %v; want an error containing %q", tt.name, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("SRV(%s) = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}
