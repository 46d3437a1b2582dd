package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	hallmark "github.com/hallmark-dev/hallmark"
)

// Drivers Open accepts.
const (
	// DriverSQLite is an embedded SQLite database in one file.
	DriverSQLite = "sqlite"
	// DriverPostgres is a PostgreSQL server, shared by gateway replicas.
	DriverPostgres = "postgres"
)

// ErrNotFound means that no record has the id or digest asked for. It is
// hallmark.ErrNotFound, so that the edge maps it like every other.
var ErrNotFound = hallmark.ErrNotFound

// DB is an open store. Its methods are safe for concurrent use.
type DB struct {
	db      *sql.DB
	dialect dialect
	log     *slog.Logger
	now     func() time.Time
}

type options struct {
	log      *slog.Logger
	now      func() time.Time
	password string
}

// Option configures Open.
type Option func(*options) error

// WithLogger sets the logger. The default discards logs.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: logger is nil", hallmark.ErrInvalid)
		}
		o.log = l
		return nil
	}
}

// WithPassword sets the PostgreSQL password, so that the DSN need not
// hold it. The default is the DSN's (or libpq's environment and passfile).
func WithPassword(pw string) Option {
	return func(o *options) error { o.password = pw; return nil }
}

// WithClock sets the clock that stamps records (tests). The default is
// time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) error { o.now = now; return nil }
}

// Open opens the store and applies the migrations it lacks. For
// DriverSQLite, dsn is the database file's path (its directory is created);
// for DriverPostgres, a libpq connection string or postgres:// URL.
func Open(ctx context.Context, driver, dsn string, opts ...Option) (*DB, error) {
	o := options{log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	var (
		db  *sql.DB
		err error
		d   dialect
	)
	switch driver {
	case DriverSQLite:
		d = sqliteDialect
		db, err = openSQLite(dsn)
	case DriverPostgres:
		d = postgresDialect
		db, err = openPostgres(dsn, o.password)
	default:
		return nil, fmt.Errorf("%w: store driver %q: want %q or %q", hallmark.ErrInvalid, driver, DriverSQLite, DriverPostgres)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s store: %w", driver, err)
	}
	s := &DB{db: db, dialect: d, log: o.log, now: o.now}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s store: %w", driver, redactDSN(err, dsn))
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// openSQLite opens the database file at path with one writer connection:
// SQLite serialises writers anyway, and one connection avoids SQLITE_BUSY.
// Write-ahead logging lets readers run beside it, on the same connection
// pool.
func openSQLite(path string) (*sql.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: sqlite store path is empty", hallmark.ErrInvalid)
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
	}
	q := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", "file:"+path+q)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// openPostgres opens a pool of up to 16 connections.
func openPostgres(dsn, password string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, redactDSN(err, dsn)
	}
	if password != "" {
		cfg.Password = password
	}
	// The store's queries are short: compiling them is slower than
	// running them (a recursive base query took 30 ms of JIT for 2 ms of
	// work).
	cfg.RuntimeParams["jit"] = "off"
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// redactDSN keeps a password in the DSN out of an error message.
func redactDSN(err error, dsn string) error {
	msg := err.Error()
	for _, secret := range dsnSecrets(dsn) {
		msg = strings.ReplaceAll(msg, secret, "REDACTED")
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// dsnSecrets finds the password of a postgres:// URL or a key=value DSN.
func dsnSecrets(dsn string) []string {
	var out []string
	if rest, ok := strings.CutPrefix(dsn, "postgres://"); ok {
		if userinfo, _, ok := strings.Cut(rest, "@"); ok {
			if _, pw, ok := strings.Cut(userinfo, ":"); ok && pw != "" {
				out = append(out, pw)
			}
		}
	}
	for _, f := range strings.Fields(dsn) {
		if pw, ok := strings.CutPrefix(f, "password="); ok && pw != "" {
			out = append(out, pw)
		}
	}
	return out
}

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// Driver is DriverSQLite or DriverPostgres.
func (s *DB) Driver() string { return s.dialect.name }

// q rewrites a query written with ? placeholders for the dialect.
func (s *DB) q(query string) string { return s.dialect.rebind(query) }

// tx runs fn in a transaction, committing if it returns nil.
func (s *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// dialect is what differs between the two databases.
type dialect struct {
	name string
	// id is the column type of an auto-assigned integer primary key.
	id string
	// dollar says placeholders are $1, $2 … instead of ?.
	dollar bool
}

var (
	sqliteDialect   = dialect{name: DriverSQLite, id: "INTEGER PRIMARY KEY"}
	postgresDialect = dialect{name: DriverPostgres, id: "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", dollar: true}
)

// rebind replaces each ? outside quotes with $n when the dialect wants it.
func (d dialect) rebind(query string) string {
	if !d.dollar {
		return query
	}
	var b strings.Builder
	n, quoted := 0, false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// micros and fromMicros store times as microseconds since the epoch in
// UTC, which both databases order and compare as integers.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
