package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hallmark-dev/hallmark/internal/version"
)

// newVersionCmd returns `hallmark version`.
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, VCS revision, Go version and BuildKit client version",
		Long: `Print what this binary was built from, as the Go toolchain recorded it:
the module version ("devel" when built without one), the VCS revision and
whether the tree had uncommitted changes, the Go version and the version of
the BuildKit client module. hallmarkd --version prints the same.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionLine(version.Get()))
			return err
		},
	}
}

// versionLine is `hallmark version`'s output, also that of --version.
func versionLine(i version.Info) string { return "hallmark " + i.String() }
