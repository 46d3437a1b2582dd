package pgtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/devstack"
)

// server is the test binary's PostgreSQL server, started on first use.
type server struct {
	once sync.Once
	pg   *devstack.Postgres
	dir  string
	err  error
	n    atomic.Int64
	// main is set by Main, which stops the server.
	main atomic.Bool
}

var shared server

// Main runs the tests, then stops the server DSN started, if any, and
// removes its directory, and exits. Call it from TestMain.
func Main(m *testing.M) {
	shared.main.Store(true)
	code := m.Run()
	if err := shared.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// DSN returns the DSN of a new, empty database, dropped when t ends. It
// fails t if the server cannot start or the package's TestMain does not
// call Main.
func DSN(t testing.TB) string {
	t.Helper()
	return shared.dsn(t)
}

func (s *server) dsn(t testing.TB) string {
	t.Helper()
	if !s.main.Load() {
		t.Fatal("pgtest: the package's TestMain must call pgtest.Main(m), which stops the server")
	}
	s.once.Do(s.start)
	if s.err != nil {
		t.Fatalf("pgtest: %v", s.err)
	}
	name := fmt.Sprintf("test_%d", s.n.Add(1))
	dsn, err := s.pg.CreateDatabase(t.Context(), name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.pg.DropDatabase(ctx, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return dsn
}

func (s *server) start() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if s.dir, s.err = os.MkdirTemp("", "hallmark-pgtest-"); s.err != nil {
		return
	}
	s.pg, s.err = devstack.StartPostgres(ctx, s.dir)
}

// stop stops the server if it runs and removes its directory.
func (s *server) stop() error {
	var err error
	if s.pg != nil {
		err = s.pg.Close()
	}
	if s.dir != "" {
		if rerr := os.RemoveAll(s.dir); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}
