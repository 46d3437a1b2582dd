package devstack

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// serverUser is the postgres account when this process is root (PostgreSQL
// refuses to run as root), else nil: the server runs as this process's user.
func serverUser() (*pgUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL refuses to run as root and there is no postgres user to run it as (the %s package creates one): %w", postgresPackage, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("user postgres: uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("user postgres: gid %q: %w", u.Gid, err)
	}
	return &pgUser{uid: uid, gid: gid}, nil
}

// pgProcAttr runs initdb and the server in a process group of their own, as
// u if set, and has the kernel send them SIGINT (a fast shutdown) if this
// process dies.
func pgProcAttr(u *pgUser) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGINT}
	if u != nil {
		attr.Credential = &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid)}
	}
	return attr
}

// grantSearch lets u reach dir by path: it adds search permission for
// others (o+x) to dir and each parent that denies u search. That lets
// anyone pass through those directories to names they already know, but
// not list or read them. Nothing changes when u is nil.
func grantSearch(dir string, u *pgUser, progress io.Writer) error {
	if u == nil {
		return nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		var st syscall.Stat_t
		if err := syscall.Stat(d, &st); err != nil {
			return fmt.Errorf("stat %s: %w", d, err)
		}
		mode := st.Mode & 0o7777
		searchable := mode&0o001 != 0 ||
			int(st.Uid) == u.uid && mode&0o100 != 0 ||
			int(st.Gid) == u.gid && mode&0o010 != 0
		if !searchable {
			fmt.Fprintf(progress, "devstack: postgres: adding o+x to %s so the postgres user reaches its data\n", d)
			if err := syscall.Chmod(d, mode|0o001); err != nil {
				return fmt.Errorf("let the postgres user search %s: %w", d, err)
			}
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}
