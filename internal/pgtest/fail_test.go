package pgtest

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Fatal and Skip and ends the
// goroutine like the real ones.
type recorder struct {
	testing.TB
	fatal   string
	skipped bool
}

func (r *recorder) Helper() {}

func (r *recorder) Fatal(args ...any) { r.fatal = fmt.Sprint(args...); runtime.Goexit() }

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skip(...any)          { r.skipped = true; runtime.Goexit() }
func (r *recorder) Skipf(string, ...any) { r.skipped = true; runtime.Goexit() }
func (r *recorder) SkipNow()             { r.skipped = true; runtime.Goexit() }

func run(t *testing.T, s *server) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.dsn(r)
	}()
	<-done
	return r
}

// TestDSNFailsWithoutServer: a server that did not start fails the test; it
// never skips it.
func TestDSNFailsWithoutServer(t *testing.T) {
	s := &server{}
	s.main.Store(true)
	s.once.Do(func() { s.err = errors.New("start postgres: find PostgreSQL: none") })
	r := run(t, s)
	if r.skipped || !strings.Contains(r.fatal, "find PostgreSQL") {
		t.Fatalf("DSN without a server: fatal %q, skipped %v; want a fatal error", r.fatal, r.skipped)
	}
}

func TestDSNNeedsMain(t *testing.T) {
	r := run(t, &server{})
	if r.skipped || !strings.Contains(r.fatal, "pgtest.Main") {
		t.Fatalf("DSN without Main: fatal %q, skipped %v; want a fatal error naming pgtest.Main", r.fatal, r.skipped)
	}
}
