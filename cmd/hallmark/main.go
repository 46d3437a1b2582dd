// Command hallmark is Hallmark's command-line client: it builds images
// through the gateway, queries what the gateway recorded, and runs the
// local dev stack.
//
//	hallmark build -t REGISTRY/REPO:TAG CONTEXT_DIR
//	hallmark base build -t REGISTRY/REPO:TAG SPEC.yaml
//	hallmark verify [--gateway URL | --offline --policy FILE] IMAGE
//	hallmark inspect IMAGE | sbom IMAGE
//	hallmark images [--base REF|DIGEST] [--package P] [--stale] | image show IMAGE
//	hallmark builds [--subject S] [--since T] | build show ID
//	hallmark audit [--kind K]... [--output jsonl] | audit verify
//	hallmark store import IMAGE... [--policy NAME]
//	hallmark policy check FILE... | policy test FILE IMAGE...
//	hallmark dev up [--detach] [--kubernetes] | dev down | dev token | dev env   (Linux only)
//	hallmark version
//
// Exit status, the same for every command: 0 done; 1 failed (denied,
// nothing verified, the build failed; build and base build end with 1 on
// any error); 2 could not evaluate (bad usage, gateway or registry
// unreachable); 130 interrupted by SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	// Tunes the collector before the heavier packages initialize (see its doc).
	_ "github.com/hallmark-dev/hallmark/internal/gctune"
)

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
	root.AddCommand(newImagesCmd(), newImageCmd(), newBuildsCmd(), newAuditCmd(), newStoreCmd(), newVulnDBCmd(), newVulnsCmd())
	root.AddCommand(newVersionCmd())
	root.AddCommand(newConformanceCmd()) // hidden: the sigstore-conformance suite's client shim
	err := root.ExecuteContext(ctx)
	var ee exitError
	if err != nil && !errors.As(err, &ee) {
		// cobra's own errors (an unknown command or flag), and commands that
		// return plain errors.
		errors.As(buildExit.finish(ctx, os.Stderr, "", err), &ee)
	}
	stop()
	os.Exit(int(ee.code))
}
