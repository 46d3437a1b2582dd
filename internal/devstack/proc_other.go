//go:build !linux

package devstack

import "syscall"

// componentProcAttr is nil off Linux: the stack's components (BuildKit with
// runc above all) run on Linux only, and this file exists so that the
// package, whose state and token helpers the CLI uses everywhere, compiles
// on every platform.
func componentProcAttr() *syscall.SysProcAttr { return nil }
