//go:build !linux

package main

import (
	"runtime"

	"github.com/spf13/cobra"
)

// newDevCmd returns `hallmark dev`, which runs on Linux only: off Linux it
// says so.
func newDevCmd() *cobra.Command { return newUnsupportedDevCmd(runtime.GOOS) }
