package builder

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/docker/cli/cli/config/types"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	spb "github.com/moby/buildkit/sourcepolicy/pb"
	"github.com/moby/buildkit/util/grpcerrors"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"

	hallmark "github.com/hallmark-dev/hallmark"
)

// solvePins are the images a solve may pull, each pinned by digest.
type solvePins struct {
	bases []hallmark.ResolvedBase
	// frontend is the "# syntax=" frontend image, or nil for the built-in
	// Dockerfile frontend.
	frontend *hallmark.ResolvedBase
}

// solve runs the build on the worker p and returns the pushed image's
// digest and, for a single-platform image, its config's digest (else
// empty). When p could not be dialed before any progress came, the error
// is an *unreachableError: the build may move to another worker. When the
// connection to p fails later, p is marked down and the error wraps
// hallmark.ErrUnavailable.
func (b *Builder) solve(ctx context.Context, p placed, req hallmark.BuildRequest, in inputs, pins solvePins, emit func(hallmark.Event) error) (hallmark.Digest, hallmark.Digest, error) {
	mounts, err := localMounts(in)
	if err != nil {
		return "", "", err
	}
	repo, err := b.opts.registry.ParseRepository(req.Repository)
	if err != nil {
		return "", "", fmt.Errorf("repository %q: %w", req.Repository, err)
	}
	export := map[string]string{
		"name":           repo.Name(),
		"push":           "true",
		"push-by-digest": "true",
		"oci-mediatypes": "true",
	}
	if b.opts.registry.IsInsecure(repo.RegistryStr()) {
		export["registry.insecure"] = "true"
	}
	opt := client.SolveOpt{
		Ref: req.ID,
		// Always the built-in frontend: it hands the build to an allowed
		// "# syntax=" image itself, under the same source policy.
		Frontend:      builtinFrontend,
		FrontendAttrs: frontendAttrs(req, in),
		LocalMounts:   mounts,
		Exports:       []client.ExportEntry{{Type: client.ExporterImage, Attrs: export}},
		SourcePolicy:  pinPolicy(pins.all()),
		Session: []session.Attachable{
			secretsprovider.FromMap(secretMap(req.Secrets)),
			authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
				AuthConfigProvider: b.authConfig,
			}),
		},
	}

	ch := make(chan *client.SolveStatus)
	var resp *client.SolveResponse
	started := false // progress came: the worker has the build
	eg, egctx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		var err error
		resp, err = p.c.Solve(egctx, nil, opt, ch) // Solve closes ch.
		return err
	})
	eg.Go(func() error {
		var emitErr error
		for st := range ch { // drain even after an emit error, so Solve never blocks
			started = true
			if emitErr == nil {
				emitErr = emit(hallmark.Event{Status: convertStatus(st)})
			}
		}
		return emitErr
	})
	if err := eg.Wait(); err != nil {
		if ctx.Err() == nil && !started && unreachable(err) {
			return "", "", &unreachableError{addr: p.addr(), err: err}
		}
		if ctx.Err() == nil && grpcerrors.Code(err) == codes.Unavailable {
			p.w.MarkDown(fmt.Errorf("the build lost the worker: %w", err))
		}
		return "", "", classifySolve(ctx, err, p.addr(), export["name"])
	}
	d, err := hallmark.ParseDigest(resp.ExporterResponse[exptypes.ExporterImageDigestKey])
	if err != nil {
		return "", "", fmt.Errorf("read pushed digest from buildkit: %w", err)
	}
	// Only a hint for reading the config early: the manifest read from the
	// registry must name it (pushedImage).
	config, _ := hallmark.ParseDigest(resp.ExporterResponse[exptypes.ExporterImageConfigDigestKey])
	return d, config, nil
}

// localMounts are the directories BuildKit reads through the session: the
// context (unless BuildKit fetches it from git) and the Dockerfile's
// directory (unless it comes from git too).
func localMounts(in inputs) (map[string]fsutil.FS, error) {
	m := map[string]fsutil.FS{}
	for name, dir := range map[string]string{"context": in.contextDir, "dockerfile": in.dockerfileDir} {
		if dir == "" {
			continue
		}
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			return nil, fmt.Errorf("open %s dir: %w", name, err)
		}
		m[name] = fs
	}
	return m, nil
}

// all lists the bases and the frontend image.
func (p solvePins) all() []hallmark.ResolvedBase {
	if p.frontend == nil {
		return p.bases
	}
	return append(slices.Clone(p.bases), *p.frontend)
}

// frontendAttrs are the dockerfile.v0 frontend's options for req. Caller
// input reaches them only as build args (never BUILDKIT_* ones), labels,
// target, platforms and no-cache: never "cmdline", "source" or a named
// context, which would select another frontend or base. The cache-mount
// namespace and the network come from the build's authorization.
func frontendAttrs(req hallmark.BuildRequest, in inputs) map[string]string {
	attrs := map[string]string{"filename": in.dockerfileKey}
	if req.Git != nil {
		attrs["context"] = gitContext(req.Git)
		if in.dockerfileDir == "" {
			attrs["dockerfile"] = gitContext(req.Git) // read the Dockerfile from the same commit
		} else {
			// An inline Dockerfile with a git context: without this the
			// frontend reads the Dockerfile from the commit, and the image
			// would not be built from the recipe the provenance names.
			attrs["dockerfilekey"] = "dockerfile"
		}
	}
	if req.Target != "" {
		attrs["target"] = req.Target
	}
	if len(req.Platforms) > 0 {
		attrs["platform"] = strings.Join(req.Platforms, ",")
	}
	if req.NoCache {
		attrs["no-cache"] = ""
	}
	for k, v := range req.BuildArgs {
		attrs["build-arg:"+k] = v
	}
	for k, v := range req.Labels {
		attrs["label:"+k] = v
	}
	setTenancyAttrs(attrs, req)
	return attrs
}

// pinPolicy is a BuildKit source policy that denies every image, then, for
// each resolved base, rewrites the reference to its digest and allows the
// result. Rules are evaluated in order and the last ALLOW/DENY match wins;
// CONVERT re-evaluates the rewritten reference.
func pinPolicy(bases []hallmark.ResolvedBase) *spb.Policy {
	p := &spb.Policy{Version: 1, Rules: []*spb.Rule{{
		Action:   spb.PolicyAction_DENY,
		Selector: &spb.Selector{Identifier: "docker-image://*", MatchType: spb.MatchType_WILDCARD},
	}}}
	for _, base := range bases {
		from, to := sourceIdentifiers(base)
		p.Rules = append(p.Rules,
			&spb.Rule{
				Action:   spb.PolicyAction_CONVERT,
				Selector: &spb.Selector{Identifier: from, MatchType: spb.MatchType_EXACT},
				Updates:  &spb.Update{Identifier: to},
			},
			&spb.Rule{
				Action:   spb.PolicyAction_ALLOW,
				Selector: &spb.Selector{Identifier: to, MatchType: spb.MatchType_EXACT},
			})
	}
	return p
}

// sourceIdentifiers gives the identifier BuildKit uses for base.Ref (the
// docker-normalized reference, "docker-image://docker.io/library/alpine:3.20")
// and the pinned one it is rewritten to (same name and tag, plus the digest).
func sourceIdentifiers(base hallmark.ResolvedBase) (from, to string) {
	norm, err := normalizeName(base.Ref)
	if err != nil { // resolved bases were parsed already; keep the ref as is
		norm = base.Ref
	}
	pinned := norm
	if i := strings.Index(pinned, "@"); i >= 0 {
		pinned = pinned[:i]
	}
	return "docker-image://" + norm, "docker-image://" + pinned + "@" + base.Digest.String()
}

func secretMap(secrets []hallmark.Secret) map[string][]byte {
	m := make(map[string][]byte, len(secrets))
	for _, s := range secrets {
		m[s.ID] = s.Value
	}
	return m
}

// authConfig serves the registry client's credentials to BuildKit.
func (b *Builder) authConfig(ctx context.Context, host string, _ []string, _ authprovider.ExpireCachedAuthCheck) (types.AuthConfig, error) {
	if host == authprovider.DockerHubRegistryHost {
		host = "index.docker.io"
	}
	a, ok, err := b.opts.registry.Credential(ctx, host)
	if err != nil || !ok {
		return types.AuthConfig{}, err
	}
	return types.AuthConfig{ServerAddress: host, Username: a.Username, Password: a.Password,
		IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}, nil
}

// convertStatus copies BuildKit's progress into the domain type.
func convertStatus(st *client.SolveStatus) *hallmark.SolveStatus {
	out := &hallmark.SolveStatus{}
	for _, v := range st.Vertexes {
		inputs := make([]string, len(v.Inputs))
		for i, in := range v.Inputs {
			inputs[i] = in.String()
		}
		out.Vertexes = append(out.Vertexes, hallmark.Vertex{
			Digest: v.Digest.String(), Inputs: inputs, Name: v.Name, Cached: v.Cached,
			Started: v.Started, Completed: v.Completed, Error: v.Error,
		})
	}
	for _, s := range st.Statuses {
		out.Statuses = append(out.Statuses, hallmark.VertexStatus{
			ID: s.ID, Vertex: s.Vertex.String(), Name: s.Name, Current: s.Current, Total: s.Total,
			Timestamp: s.Timestamp, Started: s.Started, Completed: s.Completed,
		})
	}
	for _, l := range st.Logs {
		out.Logs = append(out.Logs, hallmark.VertexLog{Vertex: l.Vertex.String(), Timestamp: l.Timestamp, Stream: l.Stream, Data: l.Data})
	}
	for _, w := range st.Warnings {
		out.Warnings = append(out.Warnings, hallmark.VertexWarning{Vertex: w.Vertex.String(), Level: w.Level, Short: w.Short, Detail: w.Detail, URL: w.URL})
	}
	return out
}
