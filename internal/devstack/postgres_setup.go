package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// postgresPackage is the Debian package EnsurePackages installs when no
// PostgreSQL is found.
const postgresPackage = "postgresql-15"

// pgLibDir holds Debian's PostgreSQL installations, one VERSION/bin each.
const pgLibDir = "/usr/lib/postgresql"

const pgInstallHint = "install it with `apt-get install -y " + postgresPackage + "` (`hallmark dev deps` and `make test` do)"

// pgBins are the PostgreSQL programs StartPostgres runs.
type pgBins struct{ initdb, postgres string }

// pgUser is the account initdb and the server run as when this process is
// root, which PostgreSQL refuses.
type pgUser struct{ uid, gid int }

// findPostgres finds initdb and postgres: in binDir if set, else on PATH,
// else in the newest version under pgLibDir.
func findPostgres(binDir string) (pgBins, error) {
	if binDir != "" {
		if b, ok := pgBinsIn(binDir); ok {
			return b, nil
		}
		return pgBins{}, fmt.Errorf("find PostgreSQL: no initdb and postgres in %s; %s", binDir, pgInstallHint)
	}
	initdb, err1 := exec.LookPath("initdb")
	postgres, err2 := exec.LookPath("postgres")
	if err1 == nil && err2 == nil {
		return pgBins{initdb: initdb, postgres: postgres}, nil
	}
	if b, ok := newestPostgres(pgLibDir); ok {
		return b, nil
	}
	return pgBins{}, fmt.Errorf("find PostgreSQL: no initdb and postgres on PATH or in %s/*/bin; %s", pgLibDir, pgInstallHint)
}

// pgBinsIn reports whether dir holds the executables initdb and postgres.
func pgBinsIn(dir string) (pgBins, bool) {
	b := pgBins{initdb: filepath.Join(dir, "initdb"), postgres: filepath.Join(dir, "postgres")}
	for _, f := range []string{b.initdb, b.postgres} {
		st, err := os.Stat(f)
		if err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
			return pgBins{}, false
		}
	}
	return b, true
}

// newestPostgres returns the programs of the highest version under root
// (root/15/bin, root/16/bin, …) that has both.
func newestPostgres(root string) (pgBins, bool) {
	entries, _ := os.ReadDir(root)
	type version struct {
		name string
		nums []int
	}
	var vs []version
	for _, e := range entries {
		v := version{name: e.Name()}
		for _, part := range strings.Split(e.Name(), ".") {
			n, err := strconv.Atoi(part)
			if err != nil {
				v.nums = nil
				break
			}
			v.nums = append(v.nums, n)
		}
		if v.nums != nil {
			vs = append(vs, v)
		}
	}
	slices.SortFunc(vs, func(a, b version) int { return -slices.Compare(a.nums, b.nums) })
	for _, v := range vs {
		if b, ok := pgBinsIn(filepath.Join(root, v.name, "bin")); ok {
			return b, true
		}
	}
	return pgBins{}, false
}

// initPostgres makes the cluster dir/pgdata with initdb unless it exists,
// and returns the superuser's password, kept in dir/postgres.password.
func initPostgres(ctx context.Context, bins pgBins, dir string, u *pgUser, progress io.Writer) (string, error) {
	pgdata := filepath.Join(dir, "pgdata")
	pwPath := filepath.Join(dir, "postgres.password")
	if _, err := os.Stat(filepath.Join(pgdata, "PG_VERSION")); err == nil {
		pw, err := os.ReadFile(pwPath)
		if err != nil {
			return "", fmt.Errorf("read the password of the cluster in %s (remove the directory to start afresh): %w", pgdata, err)
		}
		return strings.TrimSpace(string(pw)), nil
	}
	// A data directory without PG_VERSION is what a failed initdb left.
	if err := os.RemoveAll(pgdata); err != nil {
		return "", err
	}
	if err := os.Mkdir(pgdata, 0o700); err != nil {
		return "", err
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	pw := hex.EncodeToString(b)
	if err := os.Remove(pwPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.WriteFile(pwPath, []byte(pw+"\n"), 0o600); err != nil {
		return "", err
	}
	if u != nil {
		for _, f := range []string{pgdata, pwPath} {
			if err := os.Chown(f, u.uid, u.gid); err != nil {
				return "", err
			}
		}
	}
	fmt.Fprintf(progress, "devstack: initdb %s\n", pgdata)
	start := time.Now()
	// --no-sync: a dev cluster need not survive a crash of the machine.
	cmd := exec.CommandContext(ctx, bins.initdb, "-D", pgdata, "-U", pgSuperuser,
		"--auth=scram-sha-256", "--pwfile="+pwPath, "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions")
	cmd.SysProcAttr, cmd.Dir, cmd.Env = pgProcAttr(u), "/", pgEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("initdb %s: %w\n%s", pgdata, err, lastLines(string(out), 15))
	}
	fmt.Fprintf(progress, "devstack: initdb done in %s\n", time.Since(start).Round(time.Millisecond))
	return pw, nil
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[len(lines)-min(n, len(lines)):], "\n")
}

// havePostgres reports whether findPostgres finds PostgreSQL, for
// EnsurePackages.
func havePostgres() bool {
	_, err := findPostgres("")
	return err == nil
}
