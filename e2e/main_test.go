//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/hallmark-dev/hallmark/internal/devstack"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// env is the stack shared by every test of the package.
var env struct {
	stack     *devstack.Stack
	bin       string // directory holding hallmark and hallmarkd
	repo      string
	buildkitd string
	tmp       string
}

const maxContextBytes = 8 << 20

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// A cold machine builds every tool here first (Kubernetes alone takes
	// 8–15 minutes on 2 cores).
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	tmp, err := os.MkdirTemp("", "hallmark-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	env.tmp = tmp
	if err := setup(ctx, tmp); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the stack did not start:", err)
		if env.stack != nil {
			env.stack.Close()
		}
		return 1
	}
	defer env.stack.Close()
	return m.Run()
}

func setup(ctx context.Context, tmp string) error {
	repo, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	env.repo = repo
	env.bin = filepath.Join(tmp, "bin")
	build := exec.CommandContext(ctx, "go", "build", "-o", env.bin+"/", "./cmd/hallmark", "./cmd/hallmarkd")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build binaries: %w\n%s", err, out)
	}
	tools, err := devstack.ToolsDir()
	if err != nil {
		return err
	}
	env.buildkitd, err = devstack.Tool(ctx, repo, "buildkit", "buildkitd", os.Stderr)
	if err != nil {
		return err
	}
	// BuildKit's cache survives runs (it only speeds builds up); the registry,
	// gateway data and state are fresh each run.
	env.stack, err = devstack.Start(ctx, devstack.Config{
		Dir:             filepath.Join(tmp, "stack"),
		GatewayAddr:     "127.0.0.1:0",
		RegistryAddr:    "127.0.0.1:0",
		IssuerAddr:      "127.0.0.1:0",
		Hallmarkd:       filepath.Join(env.bin, "hallmarkd"),
		Repo:            repo,
		Progress:        os.Stderr,
		BuildKitRoot:    filepath.Join(filepath.Dir(tools), "e2e-buildkit"),
		MaxContextBytes: maxContextBytes,
		Kubernetes:      true,
		// HALLMARK_E2E_PPROF=127.0.0.1:6060 lets `go tool pprof` profile the
		// gateway during benchmarks.
		PprofAddr: os.Getenv("HALLMARK_E2E_PPROF"),
		// HALLMARK_E2E_LOG_LEVEL=info measures benchmarks at production's
		// log level; tests keep debug for their failure logs.
		LogLevel: os.Getenv("HALLMARK_E2E_LOG_LEVEL"),
	})
	return err
}

// token mints a CI token from the stack's issuer.
func token(t testing.TB, subject string) string {
	t.Helper()
	tok, err := env.stack.OIDC().Mint(subject, devstack.Audience, time.Hour, nil)
	if err != nil {
		t.Fatalf("mint token: %v", err)
	}
	return tok
}

// h2c is an HTTP/2 cleartext client, as streaming RPCs need.
func h2c() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: p}}
}

func client(gateway string) hallmarkv1connect.BuildServiceClient {
	return hallmarkv1connect.NewBuildServiceClient(h2c(), gateway)
}

// bearer adds a bearer token to every request, streams included.
type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// authed is a client that sends tok ("" sends no token).
func authed(tok string) hallmarkv1connect.BuildServiceClient {
	if tok == "" {
		return client(env.stack.Gateway)
	}
	return hallmarkv1connect.NewBuildServiceClient(h2c(), env.stack.Gateway, connect.WithInterceptors(bearer(tok)))
}

// hallmark runs the CLI and returns stdout and stderr.
func runCLI(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), filepath.Join(env.bin, "hallmark"), args...)
	cmd.Env = append(os.Environ(), "HALLMARK_DEV_DIR="+env.stack.Dir, "HALLMARK_GATEWAY="+env.stack.Gateway)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}
