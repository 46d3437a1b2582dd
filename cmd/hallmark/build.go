package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"connectrpc.com/connect"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// buildFlags are the flags of `hallmark build`, named as docker buildx names
// them.
type buildFlags struct {
	gateway      string
	file         string
	tags         []string
	buildArgs    []string
	platforms    []string
	secrets      []string
	target       string
	labels       []string
	noCache      bool
	metadataFile string
	iidFile      string
	progress     string
	quiet        bool
	push         bool
	tokenFile    string
}

// buildEnv is what a build touches outside its flags; tests replace it.
type buildEnv struct {
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
	lookupEnv func(string) (string, bool)
	stack     stackLoader
}

func (e buildEnv) getenv(k string) string {
	v, _ := e.lookupEnv(k)
	return v
}

// newBuildCmd returns `hallmark build`.
func newBuildCmd() *cobra.Command {
	f := &buildFlags{}
	cmd := &cobra.Command{
		Use:   "build [flags] CONTEXT_DIR",
		Short: "Build, attest and push an image through the Hallmark gateway",
		Long: `Build an image from CONTEXT_DIR through the Hallmark gateway, which pins
every base image, builds with BuildKit, attests, pushes by digest and only then
moves the tags. Flags follow docker buildx build. On success the image pinned
by digest is the only line printed to stdout; progress goes to stderr.

The gateway is --gateway, else $HALLMARK_GATEWAY, else the running dev stack.
The token is read from --token-file, else $HALLMARK_TOKEN, else fetched from
the running dev stack's issuer.

"hallmark build show ID" shows the gateway's record of a build instead; to
build a context directory named "show", write it ./show.`,
		Args: cobra.ExactArgs(1),
		RunE: buildRunE("build", func(ctx context.Context, arg string, env buildEnv) error { return runBuild(ctx, f, arg, env) }),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.gateway, "gateway", "", "gateway URL, http:// or https:// (default $HALLMARK_GATEWAY, else the dev stack)")
	fl.StringVarP(&f.file, "file", "f", "", `name of the Dockerfile, "-" for stdin (default "CONTEXT_DIR/Dockerfile")`)
	fl.StringArrayVarP(&f.tags, "tag", "t", nil, `image reference to publish, "registry/repository:tag" (at least one)`)
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "build-time variable K=V; a bare K takes its value from the environment")
	fl.StringArrayVar(&f.platforms, "platform", nil, "target platforms, repeated or comma-separated")
	fl.StringArrayVar(&f.secrets, "secret", nil, `secret to expose to the build: "id=X,src=FILE" or "id=X,env=VAR"`)
	fl.StringVar(&f.target, "target", "", "build stage to build")
	fl.StringArrayVar(&f.labels, "label", nil, "image label K=V")
	fl.BoolVar(&f.noCache, "no-cache", false, "do not use cache when building the image")
	fl.StringVar(&f.metadataFile, "metadata-file", "", "write build result metadata to a file")
	fl.StringVar(&f.iidFile, "iidfile", "", "write the image digest to a file")
	fl.StringVar(&f.progress, "progress", "auto", "progress output: "+strings.Join(progressModes, ", "))
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "suppress the build output (same as --progress quiet)")
	fl.BoolVar(&f.push, "push", false, "accepted for docker compatibility; Hallmark always pushes")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the OIDC token, re-read for every call (default $HALLMARK_TOKEN, else the dev stack)")
	_ = fl.MarkHidden("push")
	cmd.AddCommand(newBuildShowCmd())
	return cmd
}

// buildRunE is the RunE of the commands that build through the gateway
// (build, base build): run gets the one argument and the process's
// environment; an error ends the command through buildExit (1, or 130 when
// main's context was cancelled by SIGINT or SIGTERM: the cancel has already
// ended the stream, so the gateway cancels the build).
func buildRunE(name string, run func(ctx context.Context, arg string, env buildEnv) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cmd.SilenceUsage = true
		cmd.SilenceErrors = true
		env := buildEnv{
			stdin:     cmd.InOrStdin(),
			stdout:    cmd.OutOrStdout(),
			stderr:    cmd.ErrOrStderr(),
			lookupEnv: os.LookupEnv,
			stack:     loadDevStack,
		}
		return buildExit.finish(cmd.Context(), env.stderr, name, run(cmd.Context(), args[0], env))
	}
}

// dialGateway is what build and base build need once their inputs are checked:
// the progress display in mode, a client of the gateway and the caller's
// tokens. The gateway is gatewayFlag, the token tokenFile's, else each comes
// from the environment, else from the running dev stack.
func dialGateway(env buildEnv, mode, gatewayFlag, tokenFile string) (*progress, hallmarkv1connect.BuildServiceClient, tokenSource, error) {
	prog, err := newProgress(env.stderr, mode)
	if err != nil {
		return nil, nil, nil, err
	}
	gateway, err := resolveGateway(gatewayFlag, env.getenv, env.stack)
	if err != nil {
		return nil, nil, nil, err
	}
	return prog, newClient(gateway), newTokenSource(tokenFile, env.getenv, env.stack), nil
}

// runBuild checks every input, uploads the context, runs the build and
// reports the result.
func runBuild(ctx context.Context, f *buildFlags, contextDir string, env buildEnv) error {
	mode, err := progressMode(f.progress, f.quiet)
	if err != nil {
		return err
	}
	git, isGit, err := parseGitContext(contextDir)
	if err != nil {
		return err
	}
	if contextDir == "-" || (!isGit && strings.Contains(contextDir, "://")) {
		return fmt.Errorf("open context %q: want a local directory or a git URL with a commit, URL#<40-hex commit>[:subdir]", contextDir)
	}
	req, df, err := f.request(contextDir, isGit, env)
	if err != nil {
		return err
	}
	prog, cl, tokens, err := dialGateway(env, mode, f.gateway, f.tokenFile)
	if err != nil {
		return err
	}
	// Fail on a missing token before the (possibly long) archive pass.
	if _, err := tokens(ctx); err != nil {
		return err
	}
	if isGit {
		prog.infof("#0 BuildKit fetches %s at %s\n", git.GetUrl(), git.GetCommit())
		req.Source = &hallmarkv1.BuildRequest_Git{Git: git}
		res, err := build(ctx, cl, tokens, req, prog)
		if err != nil {
			return err
		}
		return report(res, req, f, env.stdout)
	}

	bc, err := newBuildContext(contextDir, df, env.stderr)
	if err != nil {
		return err
	}
	dgst, err := uploadContext(ctx, cl, tokens, bc, prog)
	if err != nil {
		return err
	}
	req.Source = &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: dgst}
	res, err := build(ctx, cl, tokens, req, prog)
	if err != nil {
		return err
	}
	return report(res, req, f, env.stdout)
}

// uploadContext archives bc and uploads it, returning its digest. The
// context is read once, into a temporary file removed on return: what is
// sent is what was hashed even if a file in it changes meanwhile (a log the
// build's output is redirected to, say).
func uploadContext(ctx context.Context, cl hallmarkv1connect.BuildServiceClient, tokens tokenSource, bc *buildContext, prog *progress) (string, error) {
	archive, err := bc.spool("")
	if err != nil {
		return "", err
	}
	defer archive.Close()
	prog.infof("#0 uploading context %s %s", units.HumanSizeWithPrecision(float64(archive.size), 3), shortDigest(archive.digest))
	up, err := upload(ctx, cl, tokens, archive.reader(), archive.digest)
	if err != nil {
		prog.infof(" error\n")
		return "", fmt.Errorf("upload context: %w", err)
	}
	if up.GetExisted() {
		prog.infof(" (cached)\n")
	} else {
		prog.infof(" done\n")
	}
	return archive.digest, nil
}

// build runs the Build stream, showing its progress, and returns the result.
// The display is drained before build returns, so a failing step's output is
// on screen before the error.
func build(ctx context.Context, cl hallmarkv1connect.BuildServiceClient, tokens tokenSource, req *hallmarkv1.BuildRequest, prog *progress) (*hallmarkv1.BuildResult, error) {
	return runStream(ctx, tokens, req, cl.Build, func(m *hallmarkv1.BuildResponse) (*hallmarkv1.BuildAccepted, *hallmarkv1.SolveStatus, *hallmarkv1.BuildResult) {
		return m.GetAccepted(), m.GetStatus(), m.GetResult()
	}, (*hallmarkv1.BuildResult).GetDigest, prog)
}

// runStream is what build and base build have in common: it opens a build
// stream with call (a BuildServiceClient method) for req and the caller's
// token, follows it to its end (event splits each message, see follow) and
// returns the result, which must name an image digest (read with digest).
func runStream[Req, M, R any](
	ctx context.Context, tokens tokenSource, req *Req,
	call func(context.Context, *connect.Request[Req]) (*connect.ServerStreamForClient[M], error),
	event func(*M) (*hallmarkv1.BuildAccepted, *hallmarkv1.SolveStatus, *R),
	digest func(*R) string, prog *progress,
) (*R, error) {
	r, err := withToken(ctx, tokens, req)
	if err != nil {
		return nil, err
	}
	stream, err := call(ctx, r)
	if err != nil {
		return nil, err
	}
	result, err := follow(stream, event, prog)
	if err != nil {
		return nil, err
	}
	if digest(result) == "" {
		return nil, errors.New("read build result: the gateway ended the build without a result")
	}
	return result, nil
}

// withToken is msg as a request carrying the caller's bearer token.
func withToken[T any](ctx context.Context, tokens tokenSource, msg *T) (*connect.Request[T], error) {
	tok, err := tokens(ctx)
	if err != nil {
		return nil, err
	}
	r := connect.NewRequest(msg)
	r.Header().Set("Authorization", bearer(tok))
	return r, nil
}

func shortDigest(d string) string {
	if alg, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return alg + ":" + hex[:12]
	}
	return d
}
