package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestExitCodes(t *testing.T) {
	live := t.Context()
	done, cancel := context.WithCancel(t.Context())
	cancel()
	plain := errors.New("registry unreachable")
	tests := []struct {
		name    string
		x       commandExit
		ctx     context.Context
		err     error
		want    exitCode
		wantMsg string // "" for no output
	}{
		{"ok", verifyExit, live, nil, exitOK, ""},
		{"ok after an interrupt", buildExit, done, nil, exitOK, ""},
		{"denied", verifyExit, live, notVerified{"app denied"}, exitFailed, "hallmark verify: app denied\n"},
		{"denied, wrapped", verifyExit, live, fmt.Errorf("check: %w", notVerified{"app denied"}), exitFailed, "hallmark verify: check: app denied\n"},
		{"denied wins over an interrupt", verifyExit, done, notVerified{"app denied"}, exitFailed, "hallmark verify: app denied\n"},
		{"verify cannot tell", verifyExit, live, plain, exitCannotTell, "hallmark verify: registry unreachable\n"},
		{"build failed", buildExit, live, plain, exitFailed, "hallmark verify: registry unreachable\n"},
		{"usage, verify", verifyExit, live, usageError("bad flag"), exitCannotTell, "hallmark verify: bad flag\n"},
		{"usage, build", buildExit, live, usageError("bad flag"), exitCannotTell, "hallmark verify: bad flag\n"},
		{"usage, conformance", conformanceExit, live, usageError("bad flag"), exitCannotTell, "hallmark verify: bad flag\n"},
		{"interrupted, build", buildExit, done, plain, exitInterrupted, "hallmark verify: interrupted\n"},
		{"interrupted, verify", verifyExit, done, context.Canceled, exitInterrupted, "hallmark verify: interrupted\n"},
		{"interrupted, usage", verifyExit, done, usageError("bad flag"), exitInterrupted, "hallmark verify: interrupted\n"},
		{"no context", conformanceExit, nil, plain, exitCannotTell, "hallmark verify: registry unreachable\n"},
		{"control characters", verifyExit, live, errors.New("bad \x1b[31mred\x1b[0m\nnext"), exitCannotTell, "hallmark verify: bad \uFFFD[31mred\uFFFD[0m\nnext\n"},
		{"one line", conformanceExit, live, errors.New("first\nsecond\tthird"), exitCannotTell, "hallmark verify: first second third\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.x.code(tt.ctx, tt.err); got != tt.want {
				t.Errorf("code = %d, want %d", got, tt.want)
			}
			var stderr bytes.Buffer
			err := tt.x.finish(tt.ctx, &stderr, "verify", tt.err)
			var ee exitError
			switch {
			case tt.want == exitOK && err != nil:
				t.Errorf("finish = %v, want nil", err)
			case tt.want != exitOK && (!errors.As(err, &ee) || ee.code != tt.want):
				t.Errorf("finish = %v, want exit %d", err, tt.want)
			}
			if stderr.String() != tt.wantMsg {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.wantMsg)
			}
		})
	}
}

func TestFinishWithoutName(t *testing.T) {
	var stderr bytes.Buffer
	err := buildExit.finish(t.Context(), &stderr, "", errors.New(`unknown command "nope" for "hallmark"`))
	var ee exitError
	if !errors.As(err, &ee) || ee.code != exitFailed {
		t.Errorf("finish = %v, want exit 1", err)
	}
	if want := "hallmark: unknown command \"nope\" for \"hallmark\"\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}

func TestUsageErrors(t *testing.T) {
	newCmd := func(x commandExit) *cobra.Command {
		cmd := &cobra.Command{Use: "check FILE", RunE: func(*cobra.Command, []string) error { return nil }}
		cmd.Flags().Bool("strict", false, "")
		x.usage(cmd, "policy check", exactlyOne("FILE"))
		return cmd
	}
	tests := []struct {
		name string
		x    commandExit
		args []string
		want exitCode
		msg  string
	}{
		{"ok", verifyExit, []string{"a.yaml"}, exitOK, ""},
		{"unknown flag", verifyExit, []string{"--nope", "a.yaml"}, exitCannotTell, "hallmark policy check: unknown flag: --nope\n"},
		{"two arguments", verifyExit, []string{"a.yaml", "b.yaml"}, exitCannotTell, "hallmark policy check: want exactly one FILE, got 2 arguments\nUsage: check FILE [flags]\n"},
		{"two arguments, one line", conformanceExit, []string{"a.yaml", "b.yaml"}, exitCannotTell, "hallmark policy check: want exactly one FILE, got 2 arguments\n"},
		{"build: usage is still usage", buildExit, nil, exitCannotTell, "hallmark policy check: want exactly one FILE, got 0 arguments\nUsage: check FILE [flags]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := executeSilenced(t.Context(), newCmd(tt.x), tt.args...)
			if code := exitOf(t, r.err); code != tt.want {
				t.Fatalf("exit %d (%v), want exit %d", code, r.err, tt.want)
			}
			if r.stderr != tt.msg || r.stdout != "" {
				t.Errorf("stdout = %q, stderr = %q, want %q", r.stdout, r.stderr, tt.msg)
			}
		})
	}
}

// TestPolicyUsageExitCode checks that policy's argument errors end with
// the documented "2 otherwise", like every other could-not-evaluate.
func TestPolicyUsageExitCode(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"check without files", []string{"check"}, "hallmark policy check: requires at least 1 arg(s), only received 0"},
		{"test without images", []string{"test", "p.yaml"}, "hallmark policy test: requires at least 2 arg(s), only received 1"},
		{"test with a bad flag", []string{"test", "--nope", "p.yaml", "img"}, "hallmark policy test: unknown flag: --nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runVerifyCmd(t, newPolicyCommand, verifyEnv{lookupEnv: func(string) (string, bool) { return "", false }}, tt.args...)
			if r.code != int(exitCannotTell) || !strings.HasPrefix(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", r.code, r.stderr, tt.want)
			}
		})
	}
}
