package pgtest_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hallmark-dev/hallmark/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestDSNGivesEachTestItsOwnDatabase(t *testing.T) {
	var first string
	t.Run("first", func(t *testing.T) {
		first = pgtest.DSN(t)
		conn := connect(t, first)
		if _, err := conn.Exec(t.Context(), "CREATE TABLE mine (v int); INSERT INTO mine VALUES (1)"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("second", func(t *testing.T) {
		second := pgtest.DSN(t)
		if second == first {
			t.Fatalf("two tests got the same DSN")
		}
		conn := connect(t, second)
		var n int
		if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE tablename = 'mine'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatal("the second test sees the first test's table")
		}
		// The first test's database was dropped when it ended.
		u, err := url.Parse(first)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", u.Path[1:]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("database %s outlived its test", u.Path[1:])
		}
	})
}

func TestDSNInParallelTests(t *testing.T) {
	for _, name := range []string{"a", "b", "c"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			conn := connect(t, pgtest.DSN(t))
			// The same table name in every database: no clash.
			if _, err := conn.Exec(t.Context(), "CREATE TABLE shared_name (v text)"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDSNDropsDatabaseWithOpenSession: a test that leaves a session open
// still has its database dropped (DropDatabase would fail the test).
func TestDSNDropsDatabaseWithOpenSession(t *testing.T) {
	t.Run("leaks", func(t *testing.T) {
		if _, err := pgx.Connect(t.Context(), pgtest.DSN(t)); err != nil {
			t.Fatal(err)
		}
	})
}

// connect opens a session closed when t ends.
func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
