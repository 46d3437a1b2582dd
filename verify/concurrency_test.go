package verify_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// gate is a registry hook that holds the referrers request of one image:
// it reports the request on entered, then waits until the request's context
// ends (reported by closing canceled) or release is called.
type gate struct {
	suffix   string
	entered  chan struct{}
	proceed  chan struct{}
	canceled chan struct{}
	once     sync.Once
	released sync.Once
}

// newGate returns a gate for the image with digest, released when t ends
// at the latest (before the registry stops, which waits for its requests).
func newGate(t *testing.T, digest string) *gate {
	g := &gate{suffix: "/referrers/" + digest, entered: make(chan struct{}, 16),
		proceed: make(chan struct{}), canceled: make(chan struct{})}
	t.Cleanup(g.release)
	return g
}

func (g *gate) release() { g.released.Do(func() { close(g.proceed) }) }

func (g *gate) hook(_ http.ResponseWriter, r *http.Request) bool {
	if !strings.HasSuffix(r.URL.Path, g.suffix) {
		return false
	}
	g.entered <- struct{}{}
	select {
	case <-r.Context().Done():
		g.once.Do(func() { close(g.canceled) })
		return true
	case <-g.proceed:
		return false
	}
}

type result struct {
	v   *verify.Verdict
	err error
}

func verifyAsync(ctx context.Context, e *verify.Evaluator, ref string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		v, err := e.Verify(ctx, verify.Request{Ref: ref})
		ch <- result{v, err}
	}()
	return ch
}

// TestEvaluatorMaxConcurrent: with one slot busy, a request that needs a
// verification waits for it until its deadline, and then fails with its
// own deadline error saying what it waited for; a cached verdict is served
// at once; the observer sees the waiting and running verifications.
func TestEvaluatorMaxConcurrent(t *testing.T) {
	f := newFixture(t, true)
	var imgs []string
	for _, repo := range []string{"a", "b", "c"} {
		img, _ := f.reg.PushRandom(t, repo, "")
		f.attest(t, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
		imgs = append(imgs, img.String())
	}
	var (
		mu               sync.Mutex
		maxWaiting, last [2]int64
		waitingOne       = make(chan struct{})
		waitingOnce      sync.Once
	)
	observe := func(waiting, running int64) {
		mu.Lock()
		defer mu.Unlock()
		last = [2]int64{waiting, running}
		maxWaiting[0], maxWaiting[1] = max(maxWaiting[0], waiting), max(maxWaiting[1], running)
		if waiting == 1 {
			waitingOnce.Do(func() { close(waitingOne) })
		}
	}
	e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")}, verify.WithMaxConcurrent(1), verify.WithConcurrencyObserver(observe))
	if _, err := e.Verify(t.Context(), verify.Request{Ref: imgs[2]}); err != nil {
		t.Fatal(err)
	}
	g := newGate(t, imgs[0][strings.Index(imgs[0], "@")+1:])
	f.reg.SetHook(g.hook)
	a := verifyAsync(t.Context(), e, imgs[0])
	<-g.entered // a holds the only slot

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if v, err := e.Verify(ctx, verify.Request{Ref: imgs[2]}); err != nil || !v.Cached {
		t.Fatalf("a cached verdict while the slot is busy = %+v, %v; want it at once", v, err)
	}

	ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := e.Verify(ctx, verify.Request{Ref: imgs[1]})
	if !errors.Is(hallmark.Class(err), context.DeadlineExceeded) || !errors.Is(err, hallmark.ErrCanceled) ||
		!strings.Contains(err.Error(), "waiting for a free verification slot") || !strings.Contains(err.Error(), verify.SettingMaxConcurrent) {
		t.Fatalf("Verify while the slot is busy = %v, want the caller's deadline, naming the slot and %s", err, verify.SettingMaxConcurrent)
	}
	<-waitingOne

	g.release()
	if r := <-a; r.err != nil || !r.v.Allowed {
		t.Fatalf("the verification holding the slot = %+v, %v; want allowed", r.v, r.err)
	}
	if v, err := e.Verify(t.Context(), verify.Request{Ref: imgs[1]}); err != nil || !v.Allowed {
		t.Fatalf("Verify once the slot is free = %+v, %v; want allowed", v, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if maxWaiting != [2]int64{1, 1} || last != [2]int64{0, 0} {
		t.Errorf("observer saw at most %v waiting/running and last %v; want [1 1] and [0 0]", maxWaiting, last)
	}
}

// sharedEvaluator is an Evaluator whose shared verifications report each
// request that joins them on the returned channel.
func sharedEvaluator(t *testing.T, f *fixture) (*verify.Evaluator, <-chan int) {
	t.Helper()
	e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")}, verify.WithVerifyTimeout(time.Hour))
	joins := make(chan int, 16)
	verify.SetJoinHook(e, func(waiters int) { joins <- waiters })
	return e, joins
}

// join makes a request for ref under ctx and waits until it has joined the
// shared verification as its n-th waiter, and, for the first, until the
// verification is in its registry request.
func join(t *testing.T, ctx context.Context, e *verify.Evaluator, joins <-chan int, g *gate, ref string, n int) <-chan result {
	t.Helper()
	ch := verifyAsync(ctx, e, ref)
	if got := <-joins; got != n {
		t.Fatalf("request joined as waiter %d, want %d", got, n)
	}
	if n == 1 {
		<-g.entered
	}
	return ch
}

// TestEvaluatorStopsSharedWork: a verification shared by concurrent
// requests for the same image goes on while one of them waits, and is
// canceled (its registry request sees the cancellation) once every one
// has gone; a later request starts afresh.
func TestEvaluatorStopsSharedWork(t *testing.T) {
	f := newFixture(t, true)
	img, desc := f.reg.PushRandom(t, "app", "")
	f.attest(t, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)

	t.Run("one waiter keeps it", func(t *testing.T) {
		e, joins := sharedEvaluator(t, f)
		g := newGate(t, desc.Digest.String())
		f.reg.SetHook(g.hook)
		defer f.reg.SetHook(nil)
		ctx1, cancel1 := context.WithCancel(t.Context())
		defer cancel1()
		r1 := join(t, ctx1, e, joins, g, img.String(), 1)
		r2 := join(t, t.Context(), e, joins, g, img.String(), 2)
		cancel1()
		if r := <-r1; !errors.Is(r.err, hallmark.ErrCanceled) || !errors.Is(r.err, context.Canceled) {
			t.Fatalf("the request that left = %+v, %v; want canceled", r.v, r.err)
		}
		g.release()
		if r := <-r2; r.err != nil || !r.v.Allowed || !r.v.Cached {
			t.Fatalf("the request that stayed = %+v, %v; want the shared verdict", r.v, r.err)
		}
	})

	t.Run("all gone", func(t *testing.T) {
		e, joins := sharedEvaluator(t, f)
		g := newGate(t, desc.Digest.String())
		f.reg.SetHook(g.hook)
		defer f.reg.SetHook(nil)
		ctx1, cancel1 := context.WithCancel(t.Context())
		ctx2, cancel2 := context.WithCancel(t.Context())
		defer cancel1()
		defer cancel2()
		r1 := join(t, ctx1, e, joins, g, img.String(), 1)
		r2 := join(t, ctx2, e, joins, g, img.String(), 2)
		cancel1()
		<-r1
		cancel2()
		<-r2
		select {
		case <-g.canceled:
		case <-time.After(10 * time.Second):
			t.Fatal("the shared registry request was not canceled after every request left")
		}
		f.reg.SetHook(nil)
		if v, err := e.Verify(t.Context(), verify.Request{Ref: img.String()}); err != nil || !v.Allowed {
			t.Fatalf("a request after they left = %+v, %v; want a fresh, allowed verdict", v, err)
		}
	})
}
