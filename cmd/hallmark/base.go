package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

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
	prog, err := newProgress(env.stderr, mode)
	if err != nil {
		return err
	}
	gateway, err := resolveGateway(f.gateway, env.getenv, env.stack)
	if err != nil {
		return err
	}
	tokens := newTokenSource(f.tokenFile, env.getenv, env.stack)
	res, err := buildBase(ctx, newClient(gateway), tokens, &hallmarkv1.BuildBaseRequest{Spec: spec, Tags: f.tags}, prog, infoPrinter(mode, env.stderr))
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
func buildBase(ctx context.Context, cl hallmarkv1connect.BuildServiceClient, tokens tokenSource, req *hallmarkv1.BuildBaseRequest, prog *progress, info func(string, ...any)) (*hallmarkv1.BuildBaseResult, error) {
	r, err := withToken(ctx, tokens, req)
	if err != nil {
		return nil, err
	}
	stream, err := cl.BuildBase(ctx, r)
	if err != nil {
		return nil, err
	}
	result, err := follow(stream, func(m *hallmarkv1.BuildBaseResponse) (*hallmarkv1.BuildAccepted, *hallmarkv1.SolveStatus, *hallmarkv1.BuildBaseResult) {
		return m.GetAccepted(), m.GetStatus(), m.GetResult()
	}, prog, info)
	if err != nil {
		return nil, err
	}
	if result.GetBuild().GetDigest() == "" {
		return nil, errors.New("read build result: the gateway ended the build without a result")
	}
	return result, nil
}

// baseBuildMetadata is what --metadata-file holds for a base build: buildx's
// keys, then Hallmark's.
type baseBuildMetadata struct {
	Digest       string                `json:"containerimage.digest"`
	ImageName    string                `json:"image.name"`
	BuildID      string                `json:"hallmark.build.id"`
	Pinned       string                `json:"hallmark.image.pinned"`
	Packages     []packageMetadata     `json:"hallmark.packages"`
	Warnings     []string              `json:"hallmark.warnings,omitempty"`
	Attestations []attestationMetadata `json:"hallmark.attestations"`
}

type packageMetadata struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Architecture string `json:"architecture"`
	URI          string `json:"uri"`
	SHA256       string `json:"sha256"`
}

// reportBase prints the pinned image to stdout and writes the metadata file.
func reportBase(res *hallmarkv1.BuildBaseResult, f *baseFlags, stdout io.Writer) error {
	b := res.GetBuild()
	pinned := b.GetPinned()
	if pinned == "" {
		pinned = b.GetImageName() + "@" + b.GetDigest()
	}
	fmt.Fprintln(stdout, pinned)
	if f.metadataFile == "" {
		return nil
	}
	tags := b.GetTags()
	if len(tags) == 0 {
		tags = f.tags
	}
	m := baseBuildMetadata{Digest: b.GetDigest(), ImageName: strings.Join(tags, ","), BuildID: b.GetBuildId(), Pinned: pinned,
		Packages: []packageMetadata{}, Warnings: b.GetWarnings(), Attestations: []attestationMetadata{}}
	for _, p := range res.GetPackages() {
		m.Packages = append(m.Packages, packageMetadata{Name: p.GetName(), Version: p.GetVersion(), Architecture: p.GetArchitecture(), URI: p.GetUri(), SHA256: p.GetSha256()})
	}
	for _, a := range b.GetAttestations() {
		am := attestationMetadata{
			PredicateType: a.GetPredicateType(), Referrer: a.GetReferrerDigest(), BundleDigest: a.GetBundleDigest(),
			SignerIdentity: a.GetSignerIdentity(), SignerIssuer: a.GetSignerIssuer(), LogIndex: a.GetLogIndex(),
		}
		if a.GetTimestamp() != nil {
			am.Timestamp = a.GetTimestamp().AsTime().UTC().Format(time.RFC3339)
		}
		m.Attestations = append(m.Attestations, am)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	if err := os.WriteFile(f.metadataFile, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write metadata file: %w", err)
	}
	return nil
}
