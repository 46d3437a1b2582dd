//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/hallmark-dev/hallmark/internal/devstack"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// TestBadInput sends each kind of bad input through the real stack and checks
// the Connect code, that the message says what is wrong, and that the tag
// never moved.
func TestBadInput(t *testing.T) {
	st := env.stack.State
	base := strings.Split(st.BaseImage, "@")[0] + ":v1"
	good := "FROM " + base + "\nUSER 65532\n"
	tests := []struct {
		name     string
		context  []byte // uploaded; nil means the good Dockerfile
		mutate   func(*hallmarkv1.BuildRequest)
		code     connect.Code
		contains string
	}{
		{
			name:     "missing dockerfile",
			context:  makeTar(t, tarEntry{name: "main.go", body: "package main"}),
			code:     connect.CodeInvalidArgument,
			contains: `dockerfile "Dockerfile" not found`,
		},
		{
			name:     "dockerfile path leaves the context",
			mutate:   func(r *hallmarkv1.BuildRequest) { r.Dockerfile = "../Dockerfile" },
			code:     connect.CodeInvalidArgument,
			contains: "leaves the context",
		},
		{
			name: "syntax error names the line",
			mutate: func(r *hallmarkv1.BuildRequest) {
				r.DockerfileInline = []byte("FROM " + base + "\nRUN echo ok\nFROBNICATE now\n")
			},
			code:     connect.CodeInvalidArgument,
			contains: "line 3",
		},
		{
			name:     "no FROM",
			mutate:   func(r *hallmarkv1.BuildRequest) { r.DockerfileInline = []byte("RUN echo ok\n") },
			code:     connect.CodeInvalidArgument,
			contains: "FROM",
		},
		{
			name: "base image does not exist",
			mutate: func(r *hallmarkv1.BuildRequest) {
				r.DockerfileInline = []byte("FROM " + st.Registry + "/nope/missing:v1\n")
			},
			code:     connect.CodeNotFound,
			contains: "nope/missing",
		},
		{
			name:     "bad build-arg name",
			mutate:   func(r *hallmarkv1.BuildRequest) { r.BuildArgs = map[string]string{"1BAD=": "x"} },
			code:     connect.CodeInvalidArgument,
			contains: "build_args",
		},
		{
			name:     "tar entry with ..",
			context:  makeTar(t, tarEntry{name: "Dockerfile", body: good}, tarEntry{name: "../escape", body: "x"}),
			code:     connect.CodeInvalidArgument,
			contains: "escape",
		},
		{
			name:     "tar entry with absolute path",
			context:  makeTar(t, tarEntry{name: "Dockerfile", body: good}, tarEntry{name: "/etc/evil", body: "x"}),
			code:     connect.CodeInvalidArgument,
			contains: "/etc/evil",
		},
		{
			name: "symlink escaping the root",
			context: makeTar(t, tarEntry{name: "Dockerfile", body: good},
				tarEntry{name: "link", typ: tar.TypeSymlink, linkname: "../../../../etc"}),
			code:     connect.CodeInvalidArgument,
			contains: "link",
		},
		{
			name: "RUN step fails",
			mutate: func(r *hallmarkv1.BuildRequest) {
				r.DockerfileInline = []byte("FROM " + st.GolangImage + "\nRUN exit 3\n")
			},
			code:     connect.CodeFailedPrecondition,
			contains: "exit code: 3",
		},
		{
			name:     "final image runs as root",
			mutate:   func(r *hallmarkv1.BuildRequest) { r.DockerfileInline = []byte("FROM " + base + "\nUSER root\n") },
			code:     connect.CodeInvalidArgument,
			contains: "would run as root",
		},
		{
			name:     "tag in a repository the caller may not push to",
			mutate:   func(r *hallmarkv1.BuildRequest) { r.Tags = []string{"registry.example.com/other/app:v1"} },
			code:     connect.CodePermissionDenied,
			contains: "registry.example.com/other/app",
		},
	}
	c := authed(token(t, "e2e-bad"))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.context
			if data == nil {
				data = makeTar(t, tarEntry{name: "Dockerfile", body: good})
			}
			tag := fmt.Sprintf("%s/e2e/bad:case%d", st.Registry, i)
			req := &hallmarkv1.BuildRequest{Tags: []string{tag}}
			dgst, err := upload(t.Context(), c, data)
			if err == nil {
				req.Source = &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: dgst}
				if tt.mutate != nil {
					tt.mutate(req)
				}
				_, _, err = build(t.Context(), c, req)
			}
			if code(err) != tt.code {
				t.Fatalf("error = %v (code %v), want code %v", err, code(err), tt.code)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not mention %q", err, tt.contains)
			}
			if _, ferr := remoteImage(t, tag); ferr == nil {
				t.Errorf("tag %s exists after a failed build", tag)
			}
		})
	}
}

// TestContextTooLarge uploads more than the gateway's limit.
func TestContextTooLarge(t *testing.T) {
	c := authed(token(t, "e2e-big"))
	big := make([]byte, maxContextBytes+1<<20)
	_, _ = rand.Read(big)
	_, err := upload(t.Context(), c, big)
	if code(err) != connect.CodeResourceExhausted {
		t.Fatalf("error = %v, want ResourceExhausted", err)
	}
}

// TestAuthentication checks that builds need a valid token.
func TestAuthentication(t *testing.T) {
	req := &hallmarkv1.BuildRequest{
		Source: &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: sha([]byte("x"))},
		Tags:   []string{env.stack.Registry + "/e2e/auth:v1"},
	}
	for name, c := range map[string]func() error{
		"no token": func() error { _, _, err := build(t.Context(), authed(""), req); return err },
		"garbage":  func() error { _, _, err := build(t.Context(), authed("not.a.jwt"), req); return err },
		"upload without token": func() error {
			_, err := upload(t.Context(), authed(""), []byte("data"))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := c(); code(err) != connect.CodeUnauthenticated {
				t.Fatalf("error = %v, want Unauthenticated", err)
			}
		})
	}
}

// TestUploadIdempotent uploads the same bytes twice.
func TestUploadIdempotent(t *testing.T) {
	c := authed(token(t, "e2e-upload"))
	data := makeTar(t, tarEntry{name: "Dockerfile", body: "FROM scratch\n"}, tarEntry{name: "nonce", body: time.Now().String()})
	d1, err := upload(t.Context(), c, data)
	if err != nil {
		t.Fatal(err)
	}
	if d1 != sha(data) {
		t.Fatalf("digest = %s, want %s", d1, sha(data))
	}
	stream := c.UploadContext(t.Context())
	_ = stream.Send(&hallmarkv1.UploadContextRequest{ExpectedDigest: d1})
	resp, err := stream.CloseAndReceive()
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Msg.GetExisted() || resp.Msg.GetDigest() != d1 {
		t.Fatalf("second upload = %v, want existed %s", resp.Msg, d1)
	}
}

// TestBuildKitDown points a second gateway at a BuildKit socket nobody
// serves: the build fails fast with Unavailable.
func TestBuildKitDown(t *testing.T) {
	gw := startGateway(t, "unix://"+filepath.Join(t.TempDir(), "nobody.sock"), env.stack.Registry)
	c := hallmarkv1connectClient(gw, token(t, "e2e-down"))
	st := env.stack.State
	req := dockerfileRequest(t, c, "FROM "+st.BaseImage+"\n", st.Registry+"/e2e/down:v1")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	_, _, err := build(ctx, c, req)
	if code(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "buildkit") {
		t.Fatalf("error = %v, want Unavailable naming buildkit", err)
	}
}

// TestPushFailure builds for a registry that is down: the push fails with
// Unavailable.
func TestPushFailure(t *testing.T) {
	dead := "127.0.0.1:9" // discard port: nothing listens
	gw := startGateway(t, env.stack.BuildKit, dead)
	c := hallmarkv1connectClient(gw, token(t, "e2e-push"))
	st := env.stack.State
	_, _, err := build(t.Context(), c, dockerfileRequest(t, c, "FROM "+st.BaseImage+"\nUSER 65532\n", dead+"/e2e/push:v1"))
	if code(err) != connect.CodeUnavailable {
		t.Fatalf("error = %v, want Unavailable", err)
	}
}

// gatewayOpts configure a second hallmarkd for one test.
type gatewayOpts struct {
	buildkit      string
	registry      string // pushes are allowed here
	signingConfig string // default: the stack's
	noSigning     bool   // signing.disabledUnsafe: publish unattested
	extraYAML     string // appended to the config: policy, verify, …
	// rules replaces the authorization rules: a YAML flow list in which
	// {{issuer}} stands for the stack's issuer (quoted). The default lets
	// the stack's issuer push to registry/** and read the stack's
	// registry, where its base images are.
	rules string
	// dataDir is the gateway's data directory; the default is a fresh one.
	dataDir string
	// workers, if set, replaces buildkit with this pool
	// (buildkit.workers); maxParallel is its per-worker bound (the
	// default's when 0).
	workers     []string
	maxParallel int
	// discover, if set, replaces buildkit with buildkit.discover.
	discover string
	// logs, if set, also receives the gateway's log lines as they are
	// written (from another goroutine: it must be safe for that).
	logs io.Writer
}

// startGateway runs another hallmarkd against buildkit, trusting the stack's
// issuer, allowing pushes to registry, and returns its URL.
func startGateway(t *testing.T, buildkit, registry string) string {
	return startGatewayWith(t, gatewayOpts{buildkit: buildkit, registry: registry})
}

func startGatewayWith(t testing.TB, o gatewayOpts) string {
	t.Helper()
	url, _ := launchGateway(t, o)
	return url
}

// launchGateway starts another hallmarkd as startGatewayWith does and also
// returns stop, which ends it as an operator would (SIGTERM, then waits)
// so that it can be started again on the same data directory.
func launchGateway(t testing.TB, o gatewayOpts) (url string, stop func()) {
	t.Helper()
	if o.signingConfig == "" {
		o.signingConfig = env.stack.SigningConfig
	}
	if o.rules == "" {
		o.rules = fmt.Sprintf("[{issuer: {{issuer}}, repositories: [%q], pull: [%q]}]", o.registry+"/**", env.stack.Registry+"/**")
	}
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	dir := t.TempDir()
	addr := freePort(t)
	bk := fmt.Sprintf("{address: %q}", o.buildkit)
	if len(o.workers) > 0 {
		quoted := make([]string, len(o.workers))
		for i, w := range o.workers {
			quoted[i] = strconv.Quote(w)
		}
		bk = fmt.Sprintf("{workers: [%s], maxParallel: %d}", strings.Join(quoted, ", "), cmp.Or(o.maxParallel, 2))
	}
	if o.discover != "" {
		bk = fmt.Sprintf("{discover: %q, maxParallel: %d}", o.discover, cmp.Or(o.maxParallel, 2))
	}
	conf := fmt.Sprintf(`listen: %q
buildkit: %s
registries: [{host: %q, insecure: true}, {host: %q, insecure: true}]
auth:
  issuers: [{url: %q, audience: hallmark}]
  rules: %s
signing: {trustedRoot: %q, signingConfig: %q, tokenFile: %q, builderID: %q, disabledUnsafe: %t}
dataDir: %q
`, addr, bk, o.registry, env.stack.Registry, env.stack.Issuer, strings.ReplaceAll(o.rules, "{{issuer}}", strconv.Quote(env.stack.Issuer)),
		env.stack.TrustedRoot, o.signingConfig, env.stack.SigningToken, devstack.BuilderID, o.noSigning, o.dataDir) + o.extraYAML
	cfg := filepath.Join(dir, "hallmarkd.yaml")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{} // read only after the process ended
	cmd := exec.Command(filepath.Join(env.bin, "hallmarkd"), "--config", cfg)
	cmd.Stdout, cmd.Stderr = logs, logs
	if o.logs != nil {
		w := io.MultiWriter(logs, o.logs)
		cmd.Stdout, cmd.Stderr = w, w
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("hallmarkd logs:\n%s", logs.String())
		}
	})
	url = "http://" + addr
	waitHTTP(t, url+"/metrics")
	return url, stop
}
