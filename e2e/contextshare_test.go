//go:build e2e

package e2e

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
)

// lockedBuffer is a log sink safe for the gateway's writer goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// roundRobin serves one address in front of gateways, sending each
// request (stream) to the next, over HTTP/2 cleartext as the CLI speaks
// it. It returns the address and how many requests each gateway got.
func roundRobin(t *testing.T, gateways ...string) (string, []*atomic.Int64) {
	t.Helper()
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	transport := &http.Transport{Protocols: p}
	var next atomic.Int64
	counts := make([]*atomic.Int64, len(gateways))
	proxies := make([]*httputil.ReverseProxy, len(gateways))
	for i, gw := range gateways {
		u, err := url.Parse(gw)
		if err != nil {
			t.Fatal(err)
		}
		counts[i] = new(atomic.Int64)
		proxies[i] = &httputil.ReverseProxy{
			Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(u) },
			Transport:     transport,
			FlushInterval: -1,
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Protocols: p, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(next.Add(1)-1) % len(gateways)
		counts[i].Add(1)
		proxies[i].ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String(), counts
}

// TestContextsSharedByReplicas: two gateways on one PostgreSQL, sharing
// uploaded contexts through the registry, behind one address that sends
// requests round robin. `hallmark build` uploads its context through one
// and builds through the other, which takes the context from the
// registry. A context outlives the replica that received it, and a build
// in flight on one replica survives the loss of another.
func TestContextsSharedByReplicas(t *testing.T) {
	st := env.stack.State
	conf := postgresStore(t) + "contexts: {sharedRepository: \"" + st.Registry + "/hallmark/contexts\"}\nlog: {level: debug}\n"
	logOne, logTwo := &lockedBuffer{}, &lockedBuffer{}
	one, stopOne := launchGateway(t, gatewayOpts{buildkit: st.BuildKit, registry: st.Registry, extraYAML: conf, logs: logOne})
	two, _ := launchGateway(t, gatewayOpts{buildkit: st.BuildKit, registry: st.Registry, extraYAML: conf, logs: logTwo})
	front, counts := roundRobin(t, one, two)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+st.BaseImage+"\nCOPY note /note\nUSER 65532\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "note"), []byte(t.Name()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := st.Registry + "/e2e/shared-context:v1"
	stdout, stderr, err := runCLI(t, "build", "--gateway", front, "-t", tag, dir)
	if err != nil {
		t.Fatalf("hallmark build through the round robin: %v\n%s\n%s\nreplica one:\n%s\nreplica two:\n%s", err, stdout, stderr, logOne, logTwo)
	}
	if !strings.Contains(stdout, st.Registry+"/e2e/shared-context@sha256:") {
		t.Errorf("build printed no digest: %s", stdout)
	}
	if counts[0].Load() == 0 || counts[1].Load() == 0 {
		t.Fatalf("requests per replica: %d, %d: the build did not use both", counts[0].Load(), counts[1].Load())
	}
	// The replica that did not receive the upload took it from the registry.
	uploaded := strings.Contains(logOne.String(), `"context uploaded"`)
	taker := logTwo
	if !uploaded {
		taker = logOne
	}
	if !strings.Contains(taker.String(), `"context taken from the other replicas"`) {
		t.Errorf("no replica took the context from the registry; replica one:\n%s\nreplica two:\n%s", logOne, logTwo)
	}
	// A second build of the same directory uploads nothing: whichever
	// replica it asks holds the context now.
	_, stderr, err = runCLI(t, "build", "--gateway", front, "-t", tag, dir)
	if err != nil {
		t.Fatalf("second build: %v\n%s", err, stderr)
	}
	if got := strings.Count(logOne.String()+logTwo.String(), `"context uploaded"`); got != 1 {
		t.Errorf("%d uploads for two builds of the same context, want 1", got)
	}
	// A context outlives the replica that received it.
	cOne := hallmarkv1connectClient(one, token(t, "e2e-shared"))
	d, err := upload(t.Context(), cOne, makeTar(t, tarEntry{name: "note", body: "uploaded through one, built through two\n"}))
	if err != nil {
		t.Fatal(err)
	}
	stopOne()
	req := buildRequest(d, st.Registry+"/e2e/shared-context:after-loss")
	req.DockerfileInline = []byte("FROM " + st.BaseImage + "\nCOPY note /note\nUSER 65532\n")
	if _, _, err := build(t.Context(), hallmarkv1connectClient(two, token(t, "e2e-shared")), req); err != nil {
		t.Fatalf("build through two of a context uploaded through one, now stopped: %v", err)
	}
	// A build in flight on a replica survives the loss of another.
	_, stopThree := launchGateway(t, gatewayOpts{buildkit: st.BuildKit, registry: st.Registry, extraYAML: conf})
	long := buildRequest(d, st.Registry+"/e2e/shared-context:in-flight")
	long.DockerfileInline = []byte("FROM " + st.GolangImage + "\nRUN echo " + t.Name() + time.Now().String() + " && sleep 4\nCOPY note /note\nUSER 65532\n")
	done := make(chan error, 1)
	go func() {
		_, _, err := build(t.Context(), hallmarkv1connectClient(two, token(t, "e2e-shared")), long)
		done <- err
	}()
	time.Sleep(time.Second)
	stopThree()
	stopped := time.Now()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a build on two while three stopped: %v", err)
		}
		t.Fatalf("the build ended before three stopped; it proves nothing (%s)", time.Since(stopped))
	case <-time.After(100 * time.Millisecond):
	}
	if err := <-done; err != nil {
		t.Fatalf("a build on two while three stopped: %v", err)
	}
	// Another identity cannot build it by naming its digest.
	_, _, err = build(t.Context(), hallmarkv1connectClient(two, token(t, "e2e-other")), req)
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("another identity's build of the shared context: %v", err)
	}
}
