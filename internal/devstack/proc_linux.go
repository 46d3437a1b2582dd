package devstack

import "syscall"

// componentProcAttr starts a component in a process group of its own and
// has the kernel send it SIGTERM if this process dies.
func componentProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
