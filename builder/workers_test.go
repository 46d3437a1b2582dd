package builder

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/contextstore"
	"github.com/hallmark-dev/hallmark/builder/pool"
)

// TestUnreachable: the errors of real BuildKit clients dialing nothing
// (a missing socket, a closed TCP port, a worker that closes connections
// as it accepts them, as one dying does) are unreachable; an Unavailable
// error of a connection that was up, and other codes, are not.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "tcp://" + ln.Addr().String()
	ln.Close()
	dying, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dying.Close()
	go func() {
		for {
			conn, err := dying.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	for _, addr := range []string{"unix://" + filepath.Join(t.TempDir(), "nobody.sock"), closed, "tcp://" + dying.Addr().String()} {
		t.Run(addr, func(t *testing.T) {
			c, err := client.New(t.Context(), addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.ListWorkers(t.Context())
			if err == nil || !unreachable(err) {
				t.Errorf("unreachable(%v) = false, want true", err)
			}
		})
	}
	for _, err := range []error{
		// A worker that closes each connection as it is made: which of
		// these comes depends on timing (TestUnreachable met both).
		status.Error(codes.Unavailable, `connection error: desc = "error reading server preface: read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer"`),
		status.Error(codes.Unavailable, "write tcp 127.0.0.1:1->127.0.0.1:2: write: broken pipe"),
	} {
		if !unreachable(err) {
			t.Errorf("unreachable(%v) = false, want true", err)
		}
	}
	for _, err := range []error{
		status.Error(codes.Unavailable, "error reading from server: EOF"),
		status.Error(codes.Unavailable, "transport is closing"),
		status.Error(codes.Internal, "connection refused"),
		errors.New("dial unix /x.sock: connect: connection refused"),
	} {
		if unreachable(err) {
			t.Errorf("unreachable(%v) = true, want false", err)
		}
	}
}

// fakeWorker is how a worker answers in TestSolveOnPool.
type fakeWorker int

const (
	answers    fakeWorker = iota // pings and solves
	refuses                      // the solve cannot dial (nothing sent)
	noPing                       // does not answer the ping before the solve
	diesMidway                   // loses the connection after the solve started
)

// TestSolveOnPool: a worker that refuses the connection before the build
// started is marked down and the build moves to the next one in hash
// order, taking a slot there and giving back the first; a worker lost
// mid-build fails the build as unavailable, without moving it.
func TestSolveOnPool(t *testing.T) {
	tests := []struct {
		name    string
		workers []fakeWorker // in hash order
		wantRan int          // index of the worker that ran the build; -1: none
		solved  []int        // workers asked to solve, in order
		down    []int        // workers marked down
		wantErr string       // part of the error, which wraps ErrUnavailable
	}{
		{name: "first answers", workers: []fakeWorker{answers, answers, answers}, wantRan: 0, solved: []int{0}},
		{name: "first refuses", workers: []fakeWorker{refuses, answers, answers}, wantRan: 1, solved: []int{0, 1}, down: []int{0}},
		{name: "first refuses, second no ping", workers: []fakeWorker{refuses, noPing, answers}, wantRan: 2, solved: []int{0, 2}, down: []int{0, 1}},
		{name: "two refuse", workers: []fakeWorker{refuses, refuses, answers}, wantRan: 2, solved: []int{0, 1, 2}, down: []int{0, 1}},
		{name: "all refuse", workers: []fakeWorker{refuses, refuses}, wantRan: -1, solved: []int{0, 1}, down: []int{0, 1}, wantErr: "could not be reached"},
		{name: "dies mid-build", workers: []fakeWorker{diesMidway, answers}, wantRan: -1, solved: []int{0}, down: []int{0}, wantErr: "the build lost the buildkit worker at tcp://w0:1234"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var addrs []string
			for i := range tt.workers {
				addrs = append(addrs, fmt.Sprintf("tcp://w%d:1234", i))
			}
			store, err := contextstore.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			b, err := New(addrs, store, WithMaxParallel(1))
			if err != nil {
				t.Fatal(err)
			}
			b.Close() // no periodic health checks: the test decides who is down
			b.pingWorker = func(context.Context, string) error { return nil }
			b.pool.Check(t.Context()) // all up, whatever the first check found
			index := func(addr string) int { return slices.Index(addrs, addr) }
			b.pingWorker = func(_ context.Context, addr string) error {
				if tt.workers[index(addr)] == noPing {
					return status.Error(codes.Unavailable, "connection error")
				}
				return nil
			}
			order := make([]*pool.Worker, len(addrs)) // hash order is the test's order
			for _, w := range b.pool.Workers() {
				order[index(w.Addr())] = w
			}
			first, rest, err := b.connect(t.Context(), order)
			if err != nil {
				t.Fatal(err)
			}
			slot, err := first.w.Acquire(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var solved []int
			dgst, ran, err := b.solveOnPool(t.Context(), "build-1", first, rest, &slot, func(p placed) (hallmark.Digest, error) {
				i := index(p.addr())
				solved = append(solved, i)
				// The build holds a slot of the worker it solves on, and
				// of no other.
				for j, w := range order {
					if got, want := w.Stats().Running, int64(0); j == i {
						want = 1
						if got != want {
							t.Errorf("worker %d runs %d builds while it solves, want %d", j, got, want)
						}
					} else if got != want {
						t.Errorf("worker %d runs %d builds while worker %d solves, want 0", j, got, i)
					}
				}
				switch tt.workers[i] {
				case refuses:
					return "", &unreachableError{addr: p.addr(), err: status.Error(codes.Unavailable, "connection error: desc = \"transport: Error while dialing: connect: connection refused\"")}
				case diesMidway:
					err := status.Error(codes.Unavailable, "error reading from server: EOF")
					p.w.MarkDown(err)
					return "", classifySolve(t.Context(), err, p.addr(), "r.example/app")
				}
				return hallmark.Digest("sha256:" + strings.Repeat("a", 64)), nil
			})
			slot()
			if !slices.Equal(solved, tt.solved) {
				t.Errorf("solved on workers %v, want %v", solved, tt.solved)
			}
			if tt.wantRan >= 0 {
				if err != nil || dgst == "" || ran.w != order[tt.wantRan] {
					t.Errorf("solveOnPool = %s on %s, %v; want a digest from worker %d", dgst, ran.addr(), err, tt.wantRan)
				}
			} else if !errors.Is(err, hallmark.ErrUnavailable) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("solveOnPool error = %v, want ErrUnavailable containing %q", err, tt.wantErr)
			}
			for i, w := range order {
				if want := !slices.Contains(tt.down, i); w.Healthy() != want {
					t.Errorf("worker %d healthy = %v, want %v", i, w.Healthy(), want)
				}
				if s := w.Stats(); s.Running != 0 {
					t.Errorf("worker %d still runs %d builds after the solve", i, s.Running)
				}
			}
		})
	}
}

// TestConnectAllDown: when no worker answers, the build fails as
// unavailable naming each worker.
func TestConnectAllDown(t *testing.T) {
	store, err := contextstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addrs := []string{"unix://" + filepath.Join(dir, "a.sock"), "unix://" + filepath.Join(dir, "b.sock")}
	b, err := New(addrs, store)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, _, err = b.connect(t.Context(), b.pool.Order("k"))
	if !errors.Is(err, hallmark.ErrUnavailable) || !strings.Contains(err.Error(), addrs[0]) || !strings.Contains(err.Error(), addrs[1]) {
		t.Errorf("connect = %v, want ErrUnavailable naming both workers", err)
	}
	for _, w := range b.pool.Workers() {
		if w.Healthy() {
			t.Errorf("worker %s is healthy after it did not answer", w.Addr())
		}
	}
}

// TestDiscovery: discovered workers join the static ones, a worker gone
// from the lookup leaves the pool, and a failed lookup keeps the workers
// the last one found.
func TestDiscovery(t *testing.T) {
	store, err := contextstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sock := func(name string) string { return "unix://" + filepath.Join(dir, name+".sock") }
	static := sock("static")
	var found []string
	var lookupErr error
	lookup := func(context.Context) ([]string, error) { return found, lookupErr }
	found = []string{sock("a"), sock("b")}
	b, err := New([]string{static}, store, WithDiscovery(lookup, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	workers := func() []string {
		var out []string
		for _, w := range b.pool.Workers() {
			out = append(out, w.Addr())
		}
		return out
	}
	if got, want := workers(), []string{static, sock("a"), sock("b")}; !slices.Equal(got, want) {
		t.Fatalf("workers at start = %q, want %q", got, want)
	}
	steps := []struct {
		name  string
		found []string
		err   error
		want  []string
	}{
		{name: "one left, one joined", found: []string{sock("b"), sock("c")}, want: []string{static, sock("b"), sock("c")}},
		{name: "lookup failed", err: errors.New("SERVFAIL"), want: []string{static, sock("b"), sock("c")}},
		{name: "the static one also found", found: []string{static}, want: []string{static}},
	}
	for _, s := range steps {
		found, lookupErr = s.found, s.err
		b.discover(t.Context(), []string{static})
		if got := workers(); !slices.Equal(got, s.want) {
			t.Errorf("%s: workers = %q, want %q", s.name, got, s.want)
		}
		for _, a := range s.want {
			if b.conns.get(a) == nil {
				t.Errorf("%s: no connection to %s", s.name, a)
			}
		}
	}
	if b.conns.get(sock("a")) != nil {
		t.Error("the worker that left still has a connection")
	}
}

func TestWithDiscoveryRejects(t *testing.T) {
	lookup := func(context.Context) ([]string, error) { return nil, nil }
	for _, opt := range []Option{WithDiscovery(nil, time.Second), WithDiscovery(lookup, 0)} {
		var o options
		if err := opt(&o); !errors.Is(err, hallmark.ErrInvalid) {
			t.Errorf("WithDiscovery = %v, want ErrInvalid", err)
		}
	}
}
