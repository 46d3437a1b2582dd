package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/devstack"
)

// TestDevPostgresFlag: --postgres reaches the detached `dev serve` like
// --kubernetes, and both commands accept it.
func TestDevPostgresFlag(t *testing.T) {
	dev := newDevCmd()
	for _, name := range []string{"up", "serve"} {
		cmd, _, err := dev.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		for _, flag := range []string{"postgres", "workers"} {
			if cmd.Flags().Lookup(flag) == nil {
				t.Errorf("dev %s has no --%s", name, flag)
			}
		}
	}
	tests := []struct {
		f    devFlags
		want []string
	}{
		{devFlags{}, []string{"dev", "serve", "--dir", "/d"}},
		{devFlags{postgres: true}, []string{"dev", "serve", "--dir", "/d", "--postgres"}},
		{devFlags{kubernetes: true, postgres: true}, []string{"dev", "serve", "--dir", "/d", "--kubernetes", "--postgres"}},
		{devFlags{workers: 1}, []string{"dev", "serve", "--dir", "/d"}},
		{devFlags{workers: 2, postgres: true}, []string{"dev", "serve", "--dir", "/d", "--postgres", "--workers", "2"}},
	}
	for _, tt := range tests {
		if got := tt.f.serveArgs("/d"); !slices.Equal(got, tt.want) {
			t.Errorf("serveArgs(%+v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestDevPrintsPostgresDSN(t *testing.T) {
	dsn := "postgres://postgres:secret@127.0.0.1:5432/hallmark?sslmode=disable"
	var env, howto bytes.Buffer
	printEnv(&env, devstack.State{Postgres: dsn})
	if want := "export HALLMARK_POSTGRES_DSN='" + dsn + "'\n"; !strings.Contains(env.String(), want) {
		t.Errorf("printEnv lacks %q:\n%s", want, env.String())
	}
	printEnv(&env, devstack.State{})
	if strings.Count(env.String(), "HALLMARK_POSTGRES_DSN") != 1 {
		t.Errorf("printEnv exports HALLMARK_POSTGRES_DSN without PostgreSQL:\n%s", env.String())
	}
	printHowTo(&howto, devstack.State{Postgres: dsn}, "")
	if !strings.Contains(howto.String(), "postgres  "+dsn) {
		t.Errorf("printHowTo lacks the DSN:\n%s", howto.String())
	}
}

// TestDevPrintsWebView: dev up prints the web view's URL, and dev env
// exports it.
func TestDevPrintsWebView(t *testing.T) {
	st := devstack.State{Gateway: "http://127.0.0.1:7433", UI: "http://127.0.0.1:7433/ui/"}
	var env, howto bytes.Buffer
	printHowTo(&howto, st, "")
	if !strings.Contains(howto.String(), "web view  http://127.0.0.1:7433/ui/") {
		t.Errorf("printHowTo lacks the web view:\n%s", howto.String())
	}
	printEnv(&env, st)
	if !strings.Contains(env.String(), "export HALLMARK_UI=http://127.0.0.1:7433/ui/\n") {
		t.Errorf("printEnv lacks HALLMARK_UI:\n%s", env.String())
	}
}

// TestDevUpMissingComponents: dev up refuses to reuse a running stack
// that lacks what its flags ask for, naming each.
func TestDevUpMissingComponents(t *testing.T) {
	full := devstack.State{Kubeconfig: "/k", Postgres: "postgres://x"}
	tests := []struct {
		f    devFlags
		st   devstack.State
		want []string
	}{
		{devFlags{}, devstack.State{}, nil},
		{devFlags{kubernetes: true, postgres: true}, full, nil},
		{devFlags{kubernetes: true}, devstack.State{Postgres: "postgres://x"}, []string{"Kubernetes (--kubernetes)"}},
		{devFlags{kubernetes: true, postgres: true}, devstack.State{}, []string{"Kubernetes (--kubernetes)", "PostgreSQL (--postgres)"}},
		// --workers: a stack with fewer workers is not reused; one with as
		// many or more is. A state file from before Workers names one.
		{devFlags{workers: 1}, devstack.State{BuildKit: "unix:///a.sock"}, nil},
		{devFlags{workers: 2}, devstack.State{BuildKit: "unix:///a.sock"}, []string{"2 BuildKit workers (--workers 2; it runs 1)"}},
		{devFlags{workers: 2}, devstack.State{BuildKit: "unix:///a.sock", Workers: []string{"unix:///a.sock", "unix:///b.sock"}}, nil},
		{devFlags{workers: 1}, devstack.State{BuildKit: "unix:///a.sock", Workers: []string{"unix:///a.sock", "unix:///b.sock"}}, nil},
		{devFlags{workers: 3, postgres: true}, devstack.State{BuildKit: "unix:///a.sock", Workers: []string{"unix:///a.sock", "unix:///b.sock"}},
			[]string{"PostgreSQL (--postgres)", "3 BuildKit workers (--workers 3; it runs 2)"}},
	}
	for _, tt := range tests {
		if got := missingComponents(&tt.f, tt.st); !slices.Equal(got, tt.want) {
			t.Errorf("missingComponents(%+v, %+v) = %q, want %q", tt.f, tt.st, got, tt.want)
		}
	}
}

// TestDevUpWorkersBounds: dev up refuses a worker count it cannot run
// before it looks for or starts anything.
func TestDevUpWorkersBounds(t *testing.T) {
	for _, n := range []int{0, -1, maxDevWorkers + 1} {
		err := devUp(t.Context(), &devFlags{dir: t.TempDir(), workers: n})
		if err == nil || !strings.Contains(err.Error(), "--workers") {
			t.Errorf("dev up --workers %d = %v, want an error naming --workers", n, err)
		}
	}
}
