package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	"connectrpc.com/connect"
	"github.com/docker/go-units"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/hallmark-dev/hallmark"
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
the running dev stack's issuer.`,
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

// progressMode is the --progress mode, "quiet" with --quiet.
func progressMode(progress string, quiet bool) (string, error) {
	if quiet {
		progress = "quiet"
	}
	if !slices.Contains(progressModes, progress) {
		return "", fmt.Errorf("parse --progress: unknown mode %q, want one of %s", progress, strings.Join(progressModes, ", "))
	}
	return progress, nil
}

// infoPrinter prints the CLI's own progress lines to w, except in the
// quiet and rawjson modes.
func infoPrinter(mode string, w io.Writer) func(format string, args ...any) {
	chatty := mode != "quiet" && mode != "rawjson"
	return func(format string, args ...any) {
		if chatty {
			fmt.Fprintf(w, format, args...)
		}
	}
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
	prog, err := newProgress(env.stderr, mode)
	if err != nil {
		return err
	}
	gateway, err := resolveGateway(f.gateway, env.getenv, env.stack)
	if err != nil {
		return err
	}
	tokens := newTokenSource(f.tokenFile, env.getenv, env.stack)
	// Fail on a missing token before the (possibly long) archive pass.
	if _, err := tokens(ctx); err != nil {
		return err
	}
	info := infoPrinter(mode, env.stderr)
	cl := newClient(gateway)
	if isGit {
		info("#0 BuildKit fetches %s at %s\n", git.GetUrl(), git.GetCommit())
		req.Source = &hallmarkv1.BuildRequest_Git{Git: git}
		res, err := build(ctx, cl, tokens, req, prog, info)
		if err != nil {
			return err
		}
		return report(res, req, f, env.stdout)
	}

	bc, err := newBuildContext(contextDir, df, env.stderr)
	if err != nil {
		return err
	}
	dgst, err := uploadContext(ctx, cl, tokens, bc, info)
	if err != nil {
		return err
	}
	req.Source = &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: dgst}
	res, err := build(ctx, cl, tokens, req, prog, info)
	if err != nil {
		return err
	}
	return report(res, req, f, env.stdout)
}

// uploadContext archives bc and uploads it, returning its digest. The
// context is read once, into a temporary file removed on return: what is
// sent is what was hashed even if a file in it changes meanwhile (a log the
// build's output is redirected to, say).
func uploadContext(ctx context.Context, cl hallmarkv1connect.BuildServiceClient, tokens tokenSource, bc *buildContext, info func(string, ...any)) (string, error) {
	archive, err := bc.spool("")
	if err != nil {
		return "", err
	}
	defer archive.Close()
	info("#0 uploading context %s %s", units.HumanSizeWithPrecision(float64(archive.size), 3), shortDigest(archive.digest))
	up, err := upload(ctx, cl, tokens, archive.reader(), archive.digest)
	if err != nil {
		info(" error\n")
		return "", fmt.Errorf("upload context: %w", err)
	}
	if up.GetExisted() {
		info(" (cached)\n")
	} else {
		info(" done\n")
	}
	return archive.digest, nil
}

// build runs the Build stream, showing its progress, and returns the result.
// The display is drained before build returns, so a failing step's output is
// on screen before the error.
func build(ctx context.Context, cl hallmarkv1connect.BuildServiceClient, tokens tokenSource, req *hallmarkv1.BuildRequest, prog *progress, info func(string, ...any)) (*hallmarkv1.BuildResult, error) {
	r, err := withToken(ctx, tokens, req)
	if err != nil {
		return nil, err
	}
	stream, err := cl.Build(ctx, r)
	if err != nil {
		return nil, err
	}
	result, err := follow(stream, func(m *hallmarkv1.BuildResponse) (*hallmarkv1.BuildAccepted, *hallmarkv1.SolveStatus, *hallmarkv1.BuildResult) {
		return m.GetAccepted(), m.GetStatus(), m.GetResult()
	}, prog, info)
	if err != nil {
		return nil, err
	}
	if result.GetDigest() == "" {
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

// follow reads a build stream to its end: it shows the acceptance and the
// progress (event splits each message into them) and returns the result,
// nil if none came. The display is drained before follow returns.
func follow[M, R any](stream *connect.ServerStreamForClient[M], event func(*M) (*hallmarkv1.BuildAccepted, *hallmarkv1.SolveStatus, *R), prog *progress, info func(string, ...any)) (*R, error) {
	defer stream.Close()
	var result *R
	for stream.Receive() {
		acc, st, res := event(stream.Msg())
		switch {
		case acc != nil:
			if !prog.started() {
				printAccepted(acc, info)
			}
		case st != nil:
			prog.update(st)
		case res != nil:
			result = res
		}
	}
	perr := prog.finish()
	if err := stream.Err(); err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, fmt.Errorf("show progress: %w", perr)
	}
	return result, nil
}

func printAccepted(a *hallmarkv1.BuildAccepted, info func(string, ...any)) {
	info("#0 build %s accepted\n", a.GetBuildId())
	if n := a.GetQueuePosition(); n > 0 {
		info("#0 waiting for a build slot, %d ahead\n", n)
	}
	for _, b := range a.GetBases() {
		info("#0 pinned %s to %s\n", b.GetRef(), b.GetPinned())
	}
}

func shortDigest(d string) string {
	if alg, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return alg + ":" + hex[:12]
	}
	return d
}

// maxSecretBytes bounds one secret, as the gateway does.
const maxSecretBytes = hallmark.MaxSecretBytes

// checkTags checks the --tag values as the gateway will: the build fails
// here, before anything is uploaded.
func checkTags(tags []string) error {
	if len(tags) == 0 {
		return errors.New("parse --tag: at least one -t registry/repository:tag is required")
	}
	for _, t := range tags {
		if t == "" || strings.ContainsFunc(t, unicode.IsSpace) {
			return fmt.Errorf("parse --tag %q: want registry/repository:tag", t)
		}
	}
	if _, err := hallmark.ValidateTags(tags, tagRepository); err != nil {
		return fmt.Errorf("parse --tag: %w", err)
	}
	return nil
}

// tagRepository parses tag strictly (an explicit registry and tag) and
// returns its repository: the parser the gateway gives
// hallmark.ValidateTags.
func tagRepository(tag string) (string, error) {
	t, err := name.NewTag(tag, name.StrictValidation)
	if err != nil {
		return "", err
	}
	return t.Context().Name(), nil
}

// request checks the flags and turns them into a BuildRequest without a
// source, before any network call.
func (f *buildFlags) request(contextDir string, isGit bool, env buildEnv) (*hallmarkv1.BuildRequest, dockerfileSpec, error) {
	var df dockerfileSpec
	if err := checkTags(f.tags); err != nil {
		return nil, df, err
	}
	args, err := parseBuildArgs(f.buildArgs, env.lookupEnv)
	if err != nil {
		return nil, df, err
	}
	labels, err := parseLabels(f.labels)
	if err != nil {
		return nil, df, err
	}
	platforms, err := parsePlatforms(f.platforms)
	if err != nil {
		return nil, df, err
	}
	if err := hallmark.ValidateTarget(f.target); err != nil {
		return nil, df, fmt.Errorf("parse --target: %w", err)
	}
	secrets, err := parseSecrets(f.secrets, env.getenv)
	if err != nil {
		return nil, df, err
	}
	if isGit {
		df, err = gitDockerfile(f.file, env.stdin)
	} else {
		df, err = findDockerfile(f.file, contextDir, env.stdin)
	}
	if err != nil {
		return nil, df, err
	}
	return &hallmarkv1.BuildRequest{
		Dockerfile:       df.rel,
		DockerfileInline: df.inline,
		Tags:             f.tags,
		BuildArgs:        args,
		Platforms:        platforms,
		Target:           f.target,
		Secrets:          secrets,
		Labels:           labels,
		NoCache:          f.noCache,
	}, df, nil
}

// parseBuildArgs parses K=V pairs; a bare K takes its value from the
// environment and is skipped when unset, as docker does. Names, values and
// their number are checked as the gateway checks them.
func parseBuildArgs(in []string, lookupEnv func(string) (string, bool)) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range in {
		k, v, ok := strings.Cut(a, "=")
		if err := hallmark.ValidateBuildArg(k, ""); err != nil {
			return nil, fmt.Errorf("parse --build-arg %q: %w", a, err)
		}
		if !ok {
			if v, ok = lookupEnv(k); !ok {
				continue
			}
		}
		if err := hallmark.ValidateBuildArg(k, v); err != nil {
			return nil, fmt.Errorf("parse --build-arg %q: %w", k, err)
		}
		out[k] = v
	}
	if err := hallmark.ValidateBuildArgs(out); err != nil {
		return nil, fmt.Errorf("parse --build-arg: %w", err)
	}
	return out, nil
}

// parseLabels parses K=V pairs; a bare K is an empty label. Keys, values
// and their number are checked as the gateway checks them.
func parseLabels(in []string) (map[string]string, error) {
	out := map[string]string{}
	for _, l := range in {
		k, v, _ := strings.Cut(l, "=")
		out[k] = v
	}
	if err := hallmark.ValidateLabels(out); err != nil {
		return nil, fmt.Errorf("parse --label: %w", err)
	}
	return out, nil
}

// parsePlatforms splits repeated and comma-separated platforms and checks
// them as the gateway does.
func parsePlatforms(in []string) ([]string, error) {
	var out []string
	for _, p := range in {
		for _, s := range strings.Split(p, ",") {
			s = strings.TrimSpace(s)
			if s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	if err := hallmark.ValidatePlatforms(out); err != nil {
		return nil, fmt.Errorf("parse --platform: %w", err)
	}
	return out, nil
}

// parseSecrets parses buildx secret specs and reads their values. Errors
// name the secret, its file or variable, never its value.
func parseSecrets(in []string, getenv func(string) string) ([]*hallmarkv1.Secret, error) {
	var out []*hallmarkv1.Secret
	seen := map[string]bool{}
	for _, spec := range in {
		s, err := parseSecret(spec, getenv)
		if err != nil {
			return nil, fmt.Errorf("parse --secret %q: %w", spec, err)
		}
		if seen[s.GetId()] {
			return nil, fmt.Errorf("parse --secret %q: duplicate id %q", spec, s.GetId())
		}
		seen[s.GetId()] = true
		out = append(out, s)
	}
	checked := make([]hallmark.Secret, len(out))
	for i, s := range out {
		checked[i] = hallmark.Secret{ID: s.GetId(), Value: s.GetValue()}
	}
	if err := hallmark.ValidateSecrets(checked); err != nil {
		return nil, fmt.Errorf("parse --secret: %w", err)
	}
	return out, nil
}

func parseSecret(spec string, getenv func(string) string) (*hallmarkv1.Secret, error) {
	fields, err := csv.NewReader(strings.NewReader(spec)).Read()
	if err != nil {
		return nil, fmt.Errorf("read fields: %w", err)
	}
	var typ, id, src, envName string
	for _, field := range fields {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return nil, fmt.Errorf("field %q is not key=value", field)
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "type":
			if v != "file" && v != "env" {
				return nil, fmt.Errorf("unsupported type %q, want file or env", v)
			}
			typ = v
		case "id":
			id = v
		case "src", "source":
			src = v
		case "env":
			envName = v
		default:
			return nil, fmt.Errorf("unknown key %q", k)
		}
	}
	if id == "" {
		return nil, errors.New("id is required")
	}
	switch {
	case typ == "env" && envName == "":
		envName, src = src, ""
		if envName == "" {
			envName = id
		}
	case typ == "file" && envName != "":
		return nil, errors.New("env is not allowed with type=file")
	case typ == "file" && src == "":
		return nil, errors.New("src=FILE is required with type=file")
	}
	if src != "" && envName != "" {
		return nil, errors.New("give src or env, not both")
	}
	if src == "" && envName == "" {
		if getenv(id) == "" {
			return nil, errors.New("src=FILE or env=VAR is required")
		}
		envName = id
	}
	var value []byte
	if src != "" {
		fh, err := os.Open(src)
		if err != nil {
			return nil, fmt.Errorf("read secret file: %w", err)
		}
		defer fh.Close()
		if value, err = readBounded(fh, maxSecretBytes); err != nil {
			return nil, fmt.Errorf("read secret file %s: %w", src, err)
		}
	} else {
		v := getenv(envName)
		if v == "" {
			return nil, fmt.Errorf("environment variable %s is empty or not set", envName)
		}
		if len(v) > maxSecretBytes {
			return nil, fmt.Errorf("environment variable %s is larger than %s", envName, units.BytesSize(maxSecretBytes))
		}
		value = []byte(v)
	}
	return &hallmarkv1.Secret{Id: id, Value: value}, nil
}

// metadata is what --metadata-file holds: buildx's keys, then Hallmark's.
type metadata struct {
	BuildRef  string         `json:"buildx.build.ref"`
	Digest    string         `json:"containerimage.digest"`
	ImageName string         `json:"image.name"`
	BuildID   string         `json:"hallmark.build.id"`
	Pinned    string         `json:"hallmark.image.pinned"`
	Bases     []baseMetadata `json:"hallmark.bases"`
	// Attestations are the signed statements published before the tags moved.
	Attestations []attestationMetadata `json:"hallmark.attestations"`
}

type attestationMetadata struct {
	PredicateType  string `json:"predicateType"`
	Referrer       string `json:"referrer"`
	BundleDigest   string `json:"bundleDigest"`
	SignerIdentity string `json:"signerIdentity"`
	SignerIssuer   string `json:"signerIssuer"`
	LogIndex       int64  `json:"logIndex"`
	Timestamp      string `json:"timestamp,omitempty"`
}

type baseMetadata struct {
	Ref    string `json:"ref"`
	Pinned string `json:"pinned"`
	Digest string `json:"digest"`
}

// report prints the pinned image to stdout and writes the files asked for.
func report(res *hallmarkv1.BuildResult, req *hallmarkv1.BuildRequest, f *buildFlags, stdout io.Writer) error {
	pinned := res.GetPinned()
	if pinned == "" {
		pinned = res.GetImageName() + "@" + res.GetDigest()
	}
	fmt.Fprintln(stdout, pinned)
	if f.metadataFile != "" {
		tags := res.GetTags()
		if len(tags) == 0 {
			tags = req.GetTags()
		}
		bases := []baseMetadata{}
		for _, b := range res.GetBases() {
			bases = append(bases, baseMetadata{Ref: b.GetRef(), Pinned: b.GetPinned(), Digest: b.GetDigest()})
		}
		atts := []attestationMetadata{}
		for _, a := range res.GetAttestations() {
			m := attestationMetadata{
				PredicateType: a.GetPredicateType(), Referrer: a.GetReferrerDigest(), BundleDigest: a.GetBundleDigest(),
				SignerIdentity: a.GetSignerIdentity(), SignerIssuer: a.GetSignerIssuer(), LogIndex: a.GetLogIndex(),
			}
			if a.GetTimestamp() != nil {
				m.Timestamp = a.GetTimestamp().AsTime().UTC().Format(time.RFC3339)
			}
			atts = append(atts, m)
		}
		data, err := json.MarshalIndent(metadata{
			BuildRef:     res.GetBuildId(),
			Digest:       res.GetDigest(),
			ImageName:    strings.Join(tags, ","),
			BuildID:      res.GetBuildId(),
			Pinned:       pinned,
			Bases:        bases,
			Attestations: atts,
		}, "", "  ")
		if err != nil {
			return fmt.Errorf("encode metadata: %w", err)
		}
		if err := os.WriteFile(f.metadataFile, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("write metadata file: %w", err)
		}
	}
	if f.iidFile != "" {
		if err := os.WriteFile(f.iidFile, []byte(res.GetDigest()), 0o644); err != nil {
			return fmt.Errorf("write iidfile: %w", err)
		}
	}
	return nil
}
