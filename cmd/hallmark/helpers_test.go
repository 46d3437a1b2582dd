package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runResult is what a command run by a test returned and printed.
type runResult struct {
	err            error
	stdout, stderr string
}

// runGatewayCmd runs cmd, a command that talks to the gateway, with args
// and stdin as main would, with HALLMARK_TOKEN set and no dev stack to
// find; the token must not be printed.
func runGatewayCmd(ctx context.Context, t *testing.T, cmd *cobra.Command, stdin string, args ...string) runResult {
	t.Helper()
	t.Setenv("HALLMARK_TOKEN", testToken)
	t.Setenv("HALLMARK_GATEWAY", "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // never find a real dev stack
	r := execute(ctx, cmd, stdin, args...)
	if strings.Contains(r.stdout+r.stderr, testToken) {
		t.Errorf("the token was printed:\n%s\n%s", r.stdout, r.stderr)
	}
	return r
}

// execute runs cmd with args (none: not os.Args) and stdin, and returns
// what it returned and printed.
func execute(ctx context.Context, cmd *cobra.Command, stdin string, args ...string) runResult {
	var stdout, stderr bytes.Buffer
	cmd.SetArgs(append([]string{}, args...))
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetIn(strings.NewReader(stdin))
	err := cmd.ExecuteContext(ctx)
	return runResult{err: err, stdout: stdout.String(), stderr: stderr.String()}
}

// executeSilenced is execute without stdin for a command that, like
// main's, leaves the printing of errors and usage to commandExit.
func executeSilenced(ctx context.Context, cmd *cobra.Command, args ...string) runResult {
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return execute(ctx, cmd, "", args...)
}

// exitOf is the code err makes main exit with; an error that carries none
// ends the test.
func exitOf(t *testing.T, err error) exitCode {
	t.Helper()
	var ee exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	}
	t.Fatalf("command returned %v, not an exit code", err)
	return 0
}

// readJSONFile decodes the JSON file at path (a --metadata-file, say) into
// a T, and returns it with the file's bytes.
func readJSONFile[T any](t *testing.T, path string) (T, []byte) {
	t.Helper()
	var v T
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode %s: %v\n%s", path, err, data)
	}
	return v, data
}

// serveH2C serves h at path with unencrypted HTTP/2 only, as hallmarkd
// does, until t ends, and returns the server's URL.
func serveH2C(t *testing.T, path string, h http.Handler) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}
