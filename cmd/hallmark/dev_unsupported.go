package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newUnsupportedDevCmd returns the `hallmark dev` of an operating system
// the dev stack does not run on: BuildKit with runc needs Linux. Every use,
// with any subcommand or flag, is a usage error saying so.
func newUnsupportedDevCmd(goos string) *cobra.Command {
	return &cobra.Command{
		Use:                "dev",
		Short:              "Run the local dev stack (Linux only)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return buildExit.finish(cmd.Context(), cmd.ErrOrStderr(), "dev", usageError(fmt.Sprintf(
				"runs on Linux only, not on %s: the dev stack runs BuildKit with runc; start it on a Linux machine or VM and point --gateway (or HALLMARK_GATEWAY) at its gateway", goos)))
		},
	}
}
