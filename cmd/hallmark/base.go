package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// maxSpecBytes bounds a BaseImage spec, as the gateway does.
const maxSpecBytes = 64 << 10

// baseFlags are the flags of `hallmark base build`.
type baseFlags struct {
	gateway      string
	tags         []string
	metadataFile string
	progress     string
	quiet        bool
	tokenFile    string
}

// newBaseCmd returns `hallmark base`.
func newBaseCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "base",
		Short:         "Build minimal base images from Debian packages",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(newBaseBuildCmd())
	return cmd
}

// newBaseBuildCmd returns `hallmark base build`.
func newBaseBuildCmd() *cobra.Command {
	f := &baseFlags{}
	cmd := &cobra.Command{
		Use:   "build [flags] SPEC.yaml",
		Short: "Build, attest and push a base image from a BaseImage spec through the gateway",
		Long: `Build a minimal, distroless-style base image from the Debian packages a
BaseImage spec declares (docs/base-images.md; "-" reads the spec from stdin).
The gateway resolves the packages and their dependencies with apt, checks
every .deb against the signed package index, unpacks them into one
reproducible layer, pushes by digest, attests (SBOM and provenance) and only
then moves the tags. The same spec and package versions give the same digest.
On success the image pinned by digest is the only line printed to stdout;
progress goes to stderr.

The gateway is --gateway, else $HALLMARK_GATEWAY, else the running dev stack.
The token is read from --token-file, else $HALLMARK_TOKEN, else fetched from
the running dev stack's issuer.`,
		Args: cobra.ExactArgs(1),
		RunE: buildRunE("base build", func(ctx context.Context, arg string, env buildEnv) error { return runBaseBuild(ctx, f, arg, env) }),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.gateway, "gateway", "", "gateway URL, http:// or https:// (default $HALLMARK_GATEWAY, else the dev stack)")
	fl.StringArrayVarP(&f.tags, "tag", "t", nil, `image reference to publish, "registry/repository:tag" (at least one)`)
	fl.StringVar(&f.metadataFile, "metadata-file", "", "write build result metadata to a file")
	fl.StringVar(&f.progress, "progress", "auto", "progress output: "+strings.Join(progressModes, ", "))
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "suppress the build output (same as --progress quiet)")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the OIDC token, re-read for every call (default $HALLMARK_TOKEN, else the dev stack)")
	return cmd
}

// runBaseBuild reads the spec, runs the BuildBase stream and reports the
// result.
func runBaseBuild(ctx context.Context, f *baseFlags, specPath string, env buildEnv) error {
	mode, err := progressMode(f.progress, f.quiet)
	if err != nil {
		return err
	}
	if err := checkTags(f.tags); err != nil {
		return err
	}
	spec, err := readSpec(specPath, env.stdin)
	if err != nil {
		return err
	}
	prog, cl, tokens, err := dialGateway(env, mode, f.gateway, f.tokenFile)
	if err != nil {
		return err
	}
	res, err := buildBase(ctx, cl, tokens, &hallmarkv1.BuildBaseRequest{Spec: spec, Tags: f.tags}, prog)
	if err != nil {
		return err
	}
	return reportBase(res, f, env.stdout)
}

// readSpec reads the spec file ("-": stdin), bounded like the gateway.
func readSpec(path string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if path != "-" {
		fh, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read spec: %w", err)
		}
		defer fh.Close()
		r = fh
	}
	data, err := io.ReadAll(io.LimitReader(r, maxSpecBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	if len(data) > maxSpecBytes {
		return nil, fmt.Errorf("read spec %s: larger than %d KiB", path, maxSpecBytes>>10)
	}
	return data, nil
}

// buildBase runs the BuildBase stream, showing its progress, and returns
// the result. The display is drained before it returns.
func buildBase(ctx context.Context, cl hallmarkv1connect.BuildServiceClient, tokens tokenSource, req *hallmarkv1.BuildBaseRequest, prog *progress) (*hallmarkv1.BuildBaseResult, error) {
	return runStream(ctx, tokens, req, cl.BuildBase, func(m *hallmarkv1.BuildBaseResponse) (*hallmarkv1.BuildAccepted, *hallmarkv1.SolveStatus, *hallmarkv1.BuildBaseResult) {
		return m.GetAccepted(), m.GetStatus(), m.GetResult()
	}, func(r *hallmarkv1.BuildBaseResult) string { return r.GetBuild().GetDigest() }, prog)
}
