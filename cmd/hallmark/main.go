// Command hallmark is Hallmark's command-line client: it builds images
// through the gateway and runs the local dev stack.
//
//	hallmark build -t REGISTRY/REPO:TAG CONTEXT_DIR
//	hallmark base build -t REGISTRY/REPO:TAG SPEC.yaml
//	hallmark verify [--gateway URL | --offline --policy FILE] IMAGE
//	hallmark inspect IMAGE | sbom IMAGE
//	hallmark policy check FILE... | policy test FILE IMAGE...
//	hallmark dev up [--detach] [--kubernetes] | dev down | dev token | dev env
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code through cobra.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := &cobra.Command{
		Use:           "hallmark",
		Short:         "Build attested container images through a Hallmark gateway",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newBuildCmd(), newBaseCmd(), newDevCmd(), newInspectCmd(), newSBOMCmd(), newVerifyCmd(), newPolicyCmd())
	root.AddCommand(newConformanceCmd()) // hidden: the sigstore-conformance suite's client shim
	err := root.ExecuteContext(ctx)
	if err == nil {
		return
	}
	var ee exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "hallmark: interrupted")
		os.Exit(130)
	}
	fmt.Fprintln(os.Stderr, "hallmark:", err)
	os.Exit(1)
}
