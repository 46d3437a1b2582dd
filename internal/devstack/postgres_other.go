//go:build !linux

package devstack

import (
	"io"
	"syscall"
)

// serverUser is nil off Linux: the server runs as this process's user
// (PostgreSQL refuses root).
func serverUser() (*pgUser, error) { return nil, nil }

// pgProcAttr is nil off Linux, like componentProcAttr.
func pgProcAttr(*pgUser) *syscall.SysProcAttr { return nil }

// grantSearch has nothing to do when the server runs as this process's user.
func grantSearch(string, *pgUser, io.Writer) error { return nil }
