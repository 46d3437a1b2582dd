package devstack

import (
	"context"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestStartPostgres starts a real server, uses it, stops it, and starts it
// again on the same directory. It logs the cold (initdb + start) and warm
// start times.
func TestStartPostgres(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	begin := time.Now()
	pg, err := StartPostgres(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cold start (initdb + start + CREATE DATABASE): %s", time.Since(begin).Round(time.Millisecond))
	defer pg.Close()

	u, err := url.Parse(pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	if pw, _ := u.User.Password(); u.Scheme != "postgres" || u.User.Username() != "postgres" || pw == "" ||
		u.Hostname() != "127.0.0.1" || u.Path != "/hallmark" || u.RawQuery != "sslmode=disable" {
		t.Fatalf("DSN = %s, want postgres://postgres:PASSWORD@127.0.0.1:PORT/hallmark?sslmode=disable", u.Redacted())
	}
	if st, err := os.Stat(filepath.Join(dir, "postgres.password")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v, %v; want mode 0600", st, err)
	}
	execSQL(t, pg.DSN(), "CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('across restarts')")

	wrong := *u
	wrong.User = url.UserPassword("postgres", "wrong")
	if conn, err := pgx.Connect(ctx, wrong.String()); err == nil {
		conn.Close(ctx)
		t.Fatal("a wrong password logged in")
	}

	t.Run("CreateDatabase", func(t *testing.T) {
		dsn, err := pg.CreateDatabase(ctx, "fresh-db")
		if err != nil {
			t.Fatal(err)
		}
		if n := queryInt(t, dsn, "SELECT count(*) FROM pg_tables WHERE tablename = 'kept'"); n != 0 {
			t.Fatalf("the new database has the table of another")
		}
		if err := pg.DropDatabase(ctx, "fresh-db"); err != nil {
			t.Fatal(err)
		}
		if n := queryInt(t, pg.DSN(), "SELECT count(*) FROM pg_database WHERE datname = 'fresh-db'"); n != 0 {
			t.Fatal("DropDatabase left the database")
		}
	})

	pid := pg.proc.cmd.Process.Pid
	if err := pg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pg.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if alive(pid) {
		t.Fatalf("postgres (pid %d) still runs after Close", pid)
	}
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		t.Fatalf("port still taken after Close: %v", err)
	}
	ln.Close()

	begin = time.Now()
	again, err := StartPostgres(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("warm start (existing cluster): %s", time.Since(begin).Round(time.Millisecond))
	defer again.Close()
	if n := queryInt(t, again.DSN(), "SELECT count(*) FROM kept WHERE v = 'across restarts'"); n != 1 {
		t.Fatalf("after a restart the table has %d matching rows, want 1", n)
	}

	// A second server on the same cluster exits at once; the error ends
	// with its log.
	_, err = StartPostgres(ctx, dir)
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "postmaster.pid") {
		t.Fatalf("a second server on one cluster: %v; want an error with the server's log", err)
	}
	t.Logf("second server: %v", err)
}

func TestStartPostgresWithoutBinaries(t *testing.T) {
	_, err := StartPostgres(t.Context(), t.TempDir(), WithPostgresBinDir(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y postgresql-15") {
		t.Fatalf("StartPostgres without binaries = %v, want an error saying how to install them", err)
	}
}

func TestStartPostgresRejectsNonLoopback(t *testing.T) {
	_, err := StartPostgres(t.Context(), t.TempDir(), WithPostgresAddr("0.0.0.0:0"))
	if err == nil || !strings.Contains(err.Error(), "not a loopback") {
		t.Fatalf("StartPostgres on 0.0.0.0 = %v, want a loopback error", err)
	}
}

func TestNewestPostgres(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9.6", "15", "16", "main"} {
		bin := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		progs := []string{"initdb", "postgres"}
		if v == "16" {
			progs = progs[:1] // incomplete: skipped
		}
		for _, p := range progs {
			if err := os.WriteFile(filepath.Join(bin, p), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	b, ok := newestPostgres(root)
	if want := filepath.Join(root, "15", "bin", "postgres"); !ok || b.postgres != want {
		t.Fatalf("newestPostgres = %+v, %v; want %s", b, ok, want)
	}
	if _, ok := newestPostgres(filepath.Join(root, "none")); ok {
		t.Fatal("newestPostgres found something in a missing directory")
	}
}

// TestStackPostgres starts PostgreSQL the way Start does with
// Config.Postgres, twice on one Dir: the data stays.
func TestStackPostgres(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o700); err != nil {
		t.Fatal(err)
	}
	start := func() *Stack {
		s := &Stack{cfg: Config{Dir: dir, Progress: io.Discard}, done: make(chan struct{})}
		if err := s.startPostgres(t.Context()); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := start()
	if !strings.HasPrefix(s.Postgres, "postgres://") {
		t.Fatalf("State.Postgres = %q, want a DSN", s.Postgres)
	}
	if env := s.Env(); env[len(env)-1] != [2]string{"HALLMARK_POSTGRES_DSN", s.Postgres} {
		t.Fatalf("Env ends with %v, want HALLMARK_POSTGRES_DSN", env[len(env)-1])
	}
	execSQL(t, s.Postgres, "CREATE TABLE kept (v int)", "INSERT INTO kept VALUES (7)")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "postgres", "pgdata", "PG_VERSION")); err != nil {
		t.Fatalf("the cluster is not in Dir/postgres/pgdata: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "logs", "postgres.log")); err != nil {
		t.Fatalf("no log in logs/postgres.log: %v", err)
	}

	s = start()
	defer s.Close()
	if n := queryInt(t, s.Postgres, "SELECT v FROM kept"); n != 7 {
		t.Fatalf("after a restart kept holds %d, want 7", n)
	}
	// A server that stops by itself is reported like every other
	// component. (SIGQUIT, an immediate shutdown, waits for the server's
	// children, so nothing writes to the data while t.TempDir removes it.)
	exited := s.Exited()
	if err := s.procs[0].cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	select {
	case name := <-exited:
		if name != "postgres" {
			t.Fatalf("Exited = %q, want postgres", name)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Exited did not report the killed server")
	}
}

func execSQL(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func queryInt(t *testing.T, dsn, query string) int64 {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int64
	if err := conn.QueryRow(t.Context(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
