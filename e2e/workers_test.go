//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	bkclient "github.com/moby/buildkit/client"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/builder/pool"
	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/internal/devstack"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// bkWorker is a buildkitd a test started on a root and socket of its own,
// in a private mount namespace (unshare), so that killing it takes its
// build containers and mounts with it.
type bkWorker struct {
	addr string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startWorker starts a buildkitd with the stack's BuildKit config (its
// registry is plain HTTP) on a socket of its own and waits until it
// answers. root is its state directory; empty means a fresh one.
func startWorker(t testing.TB, name, root string) *bkWorker {
	t.Helper()
	return startWorkerAt(t, name, root, "")
}

// startWorkerAt is startWorker listening on addr (tcp://host:port); empty
// means a socket of its own.
func startWorkerAt(t testing.TB, name, root, addr string) *bkWorker {
	t.Helper()
	// Not t.TempDir: the directory must outlive a killed buildkitd's last
	// file; run removes env.tmp at the end.
	dir, err := os.MkdirTemp(env.tmp, "w-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	if root == "" {
		root = filepath.Join(dir, "root")
	}
	if addr == "" {
		addr = "unix://" + filepath.Join(dir, "bk.sock")
	}
	w := &bkWorker{addr: addr, log: filepath.Join(dir, "buildkitd.log"), done: make(chan struct{})}
	logf, err := os.Create(w.log)
	if err != nil {
		t.Fatal(err)
	}
	w.cmd = exec.Command("unshare", "--mount", "--propagation", "private", env.buildkitd,
		"--root", root, "--addr", w.addr, "--config", filepath.Join(env.stack.Dir, "buildkitd.toml"),
		"--oci-worker-net=host", "--group", strconv.Itoa(os.Getgid()))
	w.cmd.Stdout, w.cmd.Stderr = logf, logf
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := w.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start buildkitd %s: %v", name, err)
	}
	go func() {
		_ = w.cmd.Wait()
		logf.Close()
		close(w.done)
	}()
	t.Cleanup(func() {
		w.signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(30 * time.Second):
			w.kill()
		}
		if t.Failed() {
			data, _ := os.ReadFile(w.log)
			t.Logf("buildkitd %s log (last 3000 bytes):\n%s", name, data[max(0, len(data)-3000):])
		}
	})
	c, err := bkclient.New(t.Context(), w.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		_, err := c.ListWorkers(ctx)
		cancel()
		if err == nil {
			return w
		}
		select {
		case <-w.done:
			t.Fatalf("buildkitd %s exited before it answered; see %s", name, w.log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("buildkitd %s did not answer within 60s: %v", name, err)
		}
	}
}

func (w *bkWorker) signal(sig syscall.Signal) { _ = syscall.Kill(-w.cmd.Process.Pid, sig) }

// kill SIGKILLs the worker and everything it runs, and waits until it is
// gone.
func (w *bkWorker) kill() {
	w.signal(syscall.SIGKILL)
	<-w.done
}

// lockedLog collects a gateway's log lines as it writes them.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// lines returns the lines holding every one of parts.
func (l *lockedLog) lines(parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for line := range strings.Lines(l.buf.String()) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}

// placedRepos finds, under prefix, one repository that the gateway's
// placement puts first on each worker.
func placedRepos(t testing.TB, workers []string, prefix string) map[string]string {
	t.Helper()
	var members []pool.Member
	for _, w := range workers {
		members = append(members, pool.Member{Addr: w, Pinger: pool.PingFunc(func(context.Context) error { return nil })})
	}
	p, err := pool.New(members)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for i := 0; len(found) < len(workers); i++ {
		if i > 1000 {
			t.Fatalf("no repository under %s for every worker: %v", prefix, found)
		}
		repo := fmt.Sprintf("%s/app-%d", prefix, i)
		w := p.Order(builder.PlacementKey(hallmark.BuildRequest{Repository: repo}))[0].Addr()
		if _, ok := found[w]; !ok {
			found[w] = repo
		}
	}
	return found
}

// running is a build whose events a test watches as they come.
type running struct {
	events chan *hallmarkv1.BuildResponse // closed at the end
	result *hallmarkv1.BuildResult
	err    error
	done   chan struct{} // closed after events; then result and err are set
}

func startBuild(ctx context.Context, c hallmarkv1connect.BuildServiceClient, req *hallmarkv1.BuildRequest) *running {
	r := &running{events: make(chan *hallmarkv1.BuildResponse, 1024), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer close(r.events)
		stream, err := c.Build(ctx, connect.NewRequest(req))
		if err != nil {
			r.err = err
			return
		}
		defer stream.Close()
		for stream.Receive() {
			if res := stream.Msg().GetResult(); res != nil {
				r.result = res
			}
			select {
			case r.events <- stream.Msg():
			default: // nobody watches this closely
			}
		}
		r.err = stream.Err()
	}()
	return r
}

// waitEvent returns the first event of r that ok accepts, failing the test
// if the build ends first.
func waitEvent(t *testing.T, r *running, what string, ok func(*hallmarkv1.BuildResponse) bool) *hallmarkv1.BuildResponse {
	t.Helper()
	for e := range r.events {
		if ok(e) {
			return e
		}
	}
	<-r.done
	t.Fatalf("the build ended before %s: %v", what, r.err)
	return nil
}

// stepCached reports whether progress named a step containing name, and
// whether BuildKit reported it cached.
func stepCached(events []*hallmarkv1.BuildResponse, name string) (seen, cached bool) {
	for _, e := range events {
		for _, v := range e.GetStatus().GetVertexes() {
			if strings.Contains(v.GetName(), name) {
				seen = true
				cached = cached || v.GetCached()
			}
		}
	}
	return seen, cached
}

// recordedWorker is the worker the gateway recorded for build id.
func recordedWorker(t *testing.T, q hallmarkv1connect.QueryServiceClient, id string) string {
	t.Helper()
	resp, err := q.GetBuild(t.Context(), connect.NewRequest(&hallmarkv1.GetBuildRequest{Id: id}))
	if err != nil {
		t.Fatalf("GetBuild %s: %v", id, err)
	}
	return resp.Msg.GetBuild().GetWorker()
}

// TestWorkerPool runs a gateway on a pool of two real buildkitd workers
// (one build at a time each): the builds of two repositories land on the
// workers their placement hashes to, a repeated build hits its worker's
// cache, a build on a worker killed mid-build fails with Unavailable and
// moves no tag, the build queued behind it on that worker moves to the
// other worker, and so do the next builds.
func TestWorkerPool(t *testing.T) {
	st := env.stack.State
	a, b := startWorker(t, "a", ""), startWorker(t, "b", "")
	workers := []string{a.addr, b.addr}
	logs := &lockedLog{}
	gw := startGatewayWith(t, gatewayOpts{registry: st.Registry, workers: workers, maxParallel: 1, noSigning: true, logs: logs})
	const subject = "e2e-workers"
	c := hallmarkv1connectClient(gw, token(t, subject))
	q := queryClient(t, gw, subject)
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	repos := placedRepos(t, workers, st.Registry+"/e2e/workers-"+nonce)
	repoA, repoB := repos[a.addr], repos[b.addr]
	small := func(repo string, tags ...string) *hallmarkv1.BuildRequest {
		data := makeTar(t, tarEntry{name: "Dockerfile", body: "FROM " + st.BaseImage + "\nCOPY nonce.txt /nonce.txt\nUSER 65532\n"},
			tarEntry{name: "nonce.txt", body: nonce + " " + repo})
		dgst, err := upload(t.Context(), c, data)
		if err != nil {
			t.Fatal(err)
		}
		return &hallmarkv1.BuildRequest{Source: &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: dgst}, Tags: tags}
	}
	wantWorker := func(id, addr string) {
		t.Helper()
		got := recordedWorker(t, q, id)
		if !strings.HasPrefix(got, "buildkitd v") || !strings.HasSuffix(got, " at "+addr) {
			t.Errorf("build %s recorded worker %q, want \"buildkitd v… at %s\"", id, got, addr)
		}
	}

	var digestA string // what repoA:v1 points at
	t.Run("placement", func(t *testing.T) {
		for _, w := range workers {
			res, events, err := build(t.Context(), c, small(repos[w], repos[w]+":v1"))
			if err != nil {
				t.Fatalf("build of %s: %v", repos[w], err)
			}
			if seen, cached := stepCached(events, "COPY nonce.txt"); !seen || cached {
				t.Errorf("first build of %s: COPY step seen %v, cached %v; want seen and not cached", repos[w], seen, cached)
			}
			wantWorker(res.GetBuildId(), w)
			if w == a.addr {
				digestA = res.GetDigest()
			}
		}
	})
	t.Run("cache", func(t *testing.T) {
		res, events, err := build(t.Context(), c, small(repoA, repoA+":v1"))
		if err != nil {
			t.Fatal(err)
		}
		if seen, cached := stepCached(events, "COPY nonce.txt"); !seen || !cached {
			t.Errorf("second build of %s: COPY step seen %v, cached %v; want it cached on its worker", repoA, seen, cached)
		}
		if res.GetDigest() != digestA {
			t.Errorf("second build of %s gave %s, the first %s; the cached build should be the same image", repoA, res.GetDigest(), digestA)
		}
		wantWorker(res.GetBuildId(), a.addr)
	})
	if t.Failed() {
		t.FailNow()
	}
	t.Run("worker killed", func(t *testing.T) {
		// X holds worker A's only slot with a long RUN step; Y waits
		// behind it in A's queue. A dies mid-build.
		long := "FROM " + st.GolangImage + "\nRUN echo " + nonce + " && sleep 30\nUSER 65532\n"
		reqX := dockerfileRequest(t, c, long, repoA+":v1")
		reqX.Tags = append(reqX.Tags, repoA+":mid")
		x := startBuild(t.Context(), c, reqX)
		waitEvent(t, x, "the RUN step started", func(e *hallmarkv1.BuildResponse) bool {
			for _, v := range e.GetStatus().GetVertexes() {
				if strings.Contains(v.GetName(), "sleep 30") && v.GetStarted() != nil {
					return true
				}
			}
			return false
		})
		y := startBuild(t.Context(), c, small(repoA, repoA+":after"))
		acc := waitEvent(t, y, "it was accepted", func(e *hallmarkv1.BuildResponse) bool { return e.GetAccepted() != nil })
		if pos := acc.GetAccepted().GetQueuePosition(); pos != 1 {
			t.Fatalf("the second build's queue position = %d, want 1 (behind the long build on worker A)", pos)
		}
		a.kill()

		<-x.done
		t.Logf("the build on the killed worker: %v", x.err)
		if code(x.err) != connect.CodeUnavailable || !strings.Contains(x.err.Error(), a.addr) {
			t.Errorf("the build on the killed worker ended with %v, want Unavailable naming %s", x.err, a.addr)
		}
		if desc, err := remoteImage(t, repoA+":v1"); err != nil || desc.Digest.String() != digestA {
			t.Errorf("%s:v1 = %v, %v after the failed build; want it still at %s", repoA, desc, err, digestA)
		}
		if _, err := remoteImage(t, repoA+":mid"); err == nil {
			t.Errorf("%s:mid exists after the build that would have made it failed", repoA)
		}
		<-y.done
		if y.err != nil {
			t.Fatalf("the build queued on the killed worker: %v, want it moved to worker B", y.err)
		}
		wantWorker(y.result.GetBuildId(), b.addr)
		// It moved because worker A refused the dial before its solve
		// started, not because a health check had found A down first.
		if moved := logs.lines("moving the build to the next worker", a.addr, y.result.GetBuildId()); len(moved) != 1 {
			t.Errorf("gateway logged %d moves of the queued build off worker A, want 1", len(moved))
		}

		healthyA := metric(t, gw, `hallmark_buildkit_worker_healthy{worker="`+a.addr+`"}`)
		healthyB := metric(t, gw, `hallmark_buildkit_worker_healthy{worker="`+b.addr+`"}`)
		failuresA := metric(t, gw, `hallmark_buildkit_worker_failures_total{worker="`+a.addr+`"}`)
		if healthyA != 0 || healthyB != 1 || failuresA < 2 {
			t.Errorf("metrics: healthy A %v, B %v, failures of A %v; want 0, 1 and at least 2 (the lost build, the refused dial)", healthyA, healthyB, failuresA)
		}
	})
	t.Run("next builds", func(t *testing.T) {
		for _, repo := range []string{repoA, repoB} {
			res, _, err := build(t.Context(), c, small(repo, repo+":v2"))
			if err != nil {
				t.Fatalf("build of %s after worker A died: %v", repo, err)
			}
			wantWorker(res.GetBuildId(), b.addr)
		}
	})
}

// TestDevStackWorkers starts a second dev stack with two buildkitd workers,
// as `hallmark dev up --workers 2` does: both answer on sockets and roots
// of their own, the gateway's config lists both, and a build of a
// repository placed on each worker is recorded on it.
func TestDevStackWorkers(t *testing.T) {
	dir, err := os.MkdirTemp(env.tmp, "stack2-")
	if err != nil {
		t.Fatal(err)
	}
	s, err := devstack.Start(t.Context(), devstack.Config{
		Dir: dir, GatewayAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0", IssuerAddr: "127.0.0.1:0",
		Hallmarkd: filepath.Join(env.bin, "hallmarkd"), Repo: env.repo, Progress: os.Stderr, Workers: 2,
	})
	if err != nil {
		t.Fatalf("start a stack with two workers: %v", err)
	}
	defer s.Close()
	if len(s.Workers) != 2 || s.Workers[0] != s.BuildKit || s.Workers[0] == s.Workers[1] {
		t.Fatalf("stack workers = %q (BuildKit %s), want two distinct, the first BuildKit", s.Workers, s.BuildKit)
	}
	if st, err := devstack.LoadState(dir); err != nil || !slices.Equal(st.Workers, s.Workers) {
		t.Errorf("state file workers = %q, %v; want %q", st.Workers, err, s.Workers)
	}
	cfg, err := config.Load(filepath.Join(dir, "hallmarkd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.BuildKit.WorkerAddresses(); !slices.Equal(got, s.Workers) {
		t.Errorf("gateway buildkit workers = %q, want %q", got, s.Workers)
	}
	tok, err := s.OIDC().Mint("e2e-dev-workers", devstack.Audience, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := hallmarkv1connectClient(s.Gateway, tok)
	q := hallmarkv1connect.NewQueryServiceClient(h2c(), s.Gateway, connect.WithInterceptors(bearer(tok)))
	repos := placedRepos(t, s.Workers, s.Registry+"/e2e/dev-workers")
	for _, w := range s.Workers {
		req := dockerfileRequest(t, c, "FROM "+s.BaseImage+"\nUSER 65532\n", repos[w]+":v1")
		res, _, err := build(t.Context(), c, req)
		if err != nil {
			t.Fatalf("build of %s: %v", repos[w], err)
		}
		if got := recordedWorker(t, q, res.GetBuildId()); !strings.HasSuffix(got, " at "+w) {
			t.Errorf("build of %s recorded worker %q, want the one at %s", repos[w], got, w)
		}
	}
}

// TestWorkerDiscovery runs a gateway whose workers come from DNS
// (buildkit.discover: dns+tcp://localhost:PORT): a buildkitd on
// 127.0.0.1:PORT is found, joins the pool and runs the build (were
// localhost also ::1, where nothing listens, that worker would fail its
// health check and be skipped).
func TestWorkerDiscovery(t *testing.T) {
	st := env.stack.State
	port := freePort(t)
	w := startWorkerAt(t, "dns", "", "tcp://"+port)
	_, p, err := net.SplitHostPort(port)
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedLog{}
	gw := startGatewayWith(t, gatewayOpts{registry: st.Registry, discover: "dns+tcp://localhost:" + p, noSigning: true, logs: logs})
	if joined := logs.lines("buildkit worker joined", w.addr); len(joined) != 1 {
		t.Errorf("gateway logged %d joins of %s, want 1", len(joined), w.addr)
	}
	const subject = "e2e-discovery"
	c := hallmarkv1connectClient(gw, token(t, subject))
	repo := st.Registry + "/e2e/discovered"
	res, _, err := build(t.Context(), c, dockerfileRequest(t, c, "FROM "+st.BaseImage+"\nUSER 65532\n", repo+":v1"))
	if err != nil {
		t.Fatalf("build through a discovered worker: %v", err)
	}
	if got := recordedWorker(t, queryClient(t, gw, subject), res.GetBuildId()); !strings.HasSuffix(got, " at "+w.addr) {
		t.Errorf("build recorded worker %q, want the discovered %s", got, w.addr)
	}
	if h := metric(t, gw, `hallmark_buildkit_worker_healthy{worker="`+w.addr+`"}`); h != 1 {
		t.Errorf("hallmark_buildkit_worker_healthy of the discovered worker = %v, want 1", h)
	}
}
