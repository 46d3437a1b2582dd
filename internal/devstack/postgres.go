package devstack

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hallmark-dev/hallmark/internal/config"
)

// Postgres is a PostgreSQL server started for development and tests.
//
// Its cluster lives in DIR/pgdata (made by initdb on the first start and
// reused afterwards) with the superuser's generated password in
// DIR/postgres.password (0600). It listens on a loopback TCP port only (no
// Unix socket) and accepts only password (SCRAM-SHA-256) logins. It trades
// durability for speed: fsync, synchronous_commit and full_page_writes are
// off, so a crash of the machine may lose or corrupt its data. It is a dev
// server, never a production one.
//
// PostgreSQL refuses to run as root: when this process is root, initdb and
// the server run as the postgres user (which Debian's postgresql package
// creates), the data directory is chowned to it, and DIR and its parents are
// given search permission (o+x) where they deny it, so that user can reach
// DIR by path. Search permission lets others pass through a directory to
// names they already know; it does not let them list or read it.
type Postgres struct {
	proc      *proc
	addr      string
	password  string
	dir       string
	closeOnce sync.Once
	closeErr  error
}

const (
	// pgSuperuser is the superuser initdb creates; DSNs log in as it.
	pgSuperuser = "postgres"
	// PostgresDatabase is the database StartPostgres creates; DSN names it.
	PostgresDatabase = "hallmark"
	// pgAdminDB is the database administrative connections use.
	pgAdminDB = "postgres"
)

// PostgresOption configures StartPostgres.
type PostgresOption func(*pgOptions)

type pgOptions struct {
	binDir   string
	addr     string
	logPath  string
	progress io.Writer
}

// WithPostgresBinDir takes initdb and postgres from dir. The default is
// PATH, then the newest /usr/lib/postgresql/VERSION/bin (Debian's layout).
func WithPostgresBinDir(dir string) PostgresOption {
	return func(o *pgOptions) { o.binDir = dir }
}

// WithPostgresAddr is the loopback "ip:port" the server listens on; port 0
// picks a free one. The default is 127.0.0.1:0.
func WithPostgresAddr(addr string) PostgresOption {
	return func(o *pgOptions) { o.addr = addr }
}

// WithPostgresLog is the file the server's output is appended to. The
// default is DIR/postgres.log.
func WithPostgresLog(path string) PostgresOption {
	return func(o *pgOptions) { o.logPath = path }
}

// WithPostgresProgress receives one line per slow step (initdb, start). The
// default discards them.
func WithPostgresProgress(w io.Writer) PostgresOption {
	return func(o *pgOptions) { o.progress = w }
}

// StartPostgres starts a PostgreSQL server with its data under dir (see
// Postgres), running initdb first if dir holds no cluster yet, waits until
// it accepts logins and makes sure the database PostgresDatabase exists.
// The server gets SIGINT (fast shutdown) if this process dies. On error
// nothing is left running.
func StartPostgres(ctx context.Context, dir string, opts ...PostgresOption) (*Postgres, error) {
	o := pgOptions{addr: "127.0.0.1:0", progress: io.Discard}
	for _, opt := range opts {
		opt(&o)
	}
	if o.progress == nil {
		o.progress = io.Discard
	}
	p, err := startPostgres(ctx, dir, o)
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	return p, nil
}

func startPostgres(ctx context.Context, dir string, o pgOptions) (_ *Postgres, err error) {
	start := time.Now()
	bins, err := findPostgres(o.binDir)
	if err != nil {
		return nil, err
	}
	if host, _, err := net.SplitHostPort(o.addr); err != nil || net.ParseIP(host) == nil || !net.ParseIP(host).IsLoopback() {
		return nil, fmt.Errorf("address %q: not a loopback \"ip:port\"", o.addr)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	if o.logPath == "" {
		o.logPath = filepath.Join(dir, "postgres.log")
	}
	u, err := serverUser()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := grantSearch(dir, u, o.progress); err != nil {
		return nil, err
	}
	password, err := initPostgres(ctx, bins, dir, u, o.progress)
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr(o.addr)
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bins.postgres, "-D", filepath.Join(dir, "pgdata"), "-p", port,
		"-c", "listen_addresses="+host,
		"-c", "unix_socket_directories=",
		// A dev server: speed over durability.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=100", "-c", "shared_buffers=32MB")
	cmd.SysProcAttr, cmd.Dir, cmd.Env = pgProcAttr(u), "/", pgEnv()
	p := &Postgres{addr: addr, password: password, dir: dir}
	if p.proc, err = startProc("postgres", cmd, o.logPath, o.progress); err != nil {
		return nil, err
	}
	p.proc.stopSig = syscall.SIGINT
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if err := waitReady(ctx, p.proc, func(ctx context.Context) error {
		conn, err := p.connect(ctx, pgAdminDB)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		return conn.Ping(ctx)
	}); err != nil {
		return nil, err
	}
	if err := p.ensureDatabase(ctx, PostgresDatabase); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.progress, "devstack: postgres ready on %s in %s\n", addr, time.Since(start).Round(time.Millisecond))
	return p, nil
}

// DSN is the URL of the database PostgresDatabase:
// postgres://postgres:PASSWORD@127.0.0.1:PORT/hallmark?sslmode=disable. It
// holds the generated password: do not log it.
func (p *Postgres) DSN() string { return p.dsn(PostgresDatabase) }

func (p *Postgres) dsn(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(pgSuperuser, p.password), Host: p.addr,
		Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// GatewayStore returns the store configuration a gateway uses to reach the
// hallmark database: the DSN without the password, and the file that
// holds it.
func (p *Postgres) GatewayStore() config.StoreConfig {
	u := url.URL{Scheme: "postgres", User: url.User(pgSuperuser), Host: p.addr, Path: "/" + PostgresDatabase, RawQuery: "sslmode=disable"}
	c := config.Default().Store
	c.Driver, c.DSN, c.PasswordFile = config.StorePostgres, u.String(), filepath.Join(p.dir, "postgres.password")
	return c
}

// CreateDatabase creates an empty database and returns its DSN, so that
// tests each get one of their own.
func (p *Postgres) CreateDatabase(ctx context.Context, name string) (string, error) {
	if err := p.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return p.dsn(name), nil
}

// DropDatabase drops a database if it exists, ending its sessions first.
func (p *Postgres) DropDatabase(ctx context.Context, name string) error {
	if err := p.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// Close stops the server (SIGINT, a fast shutdown: sessions are ended and
// the data written), killing it after 15s, and waits until it exited. It
// removes nothing: the data stays in DIR for the next start.
func (p *Postgres) Close() error {
	p.closeOnce.Do(func() {
		if err := p.proc.stop(15 * time.Second); err != nil {
			p.closeErr = fmt.Errorf("stop postgres: %w", err)
		}
	})
	return p.closeErr
}

func (p *Postgres) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	return pgx.Connect(ctx, p.dsn(db))
}

// exec runs one statement as the superuser in the administrative database.
func (p *Postgres) exec(ctx context.Context, sql string) error {
	conn, err := p.connect(ctx, pgAdminDB)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

func (p *Postgres) ensureDatabase(ctx context.Context, name string) error {
	conn, err := p.connect(ctx, pgAdminDB)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// pgEnv is this process's environment without the PG* variables, which
// would change what initdb and postgres do, and in the C locale.
func pgEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "LC_") && !strings.HasPrefix(kv, "LANG=") {
			env = append(env, kv)
		}
	}
	return append(env, "LC_ALL=C")
}
