package builder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	"github.com/moby/buildkit/client"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/secretscan"
)

// Build runs req: it refuses credential-like build args, reads, inspects
// and lints the Dockerfile, applies the base-image policy, refuses bases
// the requester may not read (req.Readable), pins every base
// image to a digest, waits for a free slot, solves with BuildKit and pushes
// the image by digest, then refuses an image that runs as root or holds
// secrets. emit receives the build's events; an error from it stops the
// build. It does not move any tag: see MoveTags.
func (b *Builder) Build(ctx context.Context, req hallmark.BuildRequest, emit func(hallmark.Event) error) (hallmark.BuildResult, error) {
	begin := time.Now()
	if err := secretscan.CheckBuildArgs(req.BuildArgs); err != nil {
		return hallmark.BuildResult{}, err
	}
	req, err := tenancy(req)
	if err != nil {
		return hallmark.BuildResult{}, err
	}
	c, err := b.connect(ctx)
	if err != nil {
		return hallmark.BuildResult{}, err
	}
	work, err := os.MkdirTemp(b.opts.workDir, "build-")
	if err != nil {
		return hallmark.BuildResult{}, fmt.Errorf("create build dir: %w", err)
	}
	defer os.RemoveAll(work)

	in, err := b.prepareInputs(ctx, c, req, work)
	if err != nil {
		return hallmark.BuildResult{}, err
	}
	info, err := InspectDockerfile(in.dockerfile, req.BuildArgs, req.Target)
	if err != nil {
		return hallmark.BuildResult{}, err
	}
	frontend, frontendImage, err := b.opts.chooseFrontend(in.dockerfile)
	if err != nil {
		return hallmark.BuildResult{}, err
	}
	if err := b.opts.checkBases(info); err != nil {
		return hallmark.BuildResult{}, err
	}
	if err := checkReadable(info, req.Readable); err != nil {
		return hallmark.BuildResult{}, err
	}
	prepared := time.Now()
	bases, err := b.resolver.ResolveAll(ctx, info.Bases)
	if err != nil {
		return hallmark.BuildResult{}, err
	}
	if err := checkFrontendPin(frontendImage, bases); err != nil {
		return hallmark.BuildResult{}, err
	}
	verifiedBy, err := b.verifyBases(ctx, info, bases)
	if err != nil {
		return hallmark.BuildResult{}, err
	}
	policy := b.opts.recordBases(info, bases)
	for i := range policy.Bases {
		policy.Bases[i].VerifiedBy = verifiedBy
	}

	release, err := b.queue.Acquire(ctx, func(pos int) error {
		if err := emit(hallmark.Event{Accepted: &hallmark.Accepted{ID: req.ID, QueuePosition: pos, Bases: bases}}); err != nil {
			return err
		}
		return emitWarnings(emit, lintVertex, info.Warnings)
	})
	if err != nil {
		return hallmark.BuildResult{}, err
	}
	defer release()

	started := time.Now().UTC()
	warnings := slices.Clone(info.Warnings)
	collect := func(e hallmark.Event) error {
		if e.Status != nil {
			for _, w := range e.Status.Warnings {
				warnings = append(warnings, string(w.Short))
			}
		}
		return emit(e)
	}
	dgst, err := b.solve(ctx, c, req, in, solvePins{bases: bases, frontend: frontendImage}, collect)
	if err != nil {
		return hallmark.BuildResult{}, err
	}
	solved := time.Now().UTC()
	if err := b.checkNonRoot(ctx, req.Repository, dgst, info, req.AllowRoot); err != nil {
		return hallmark.BuildResult{}, err
	}
	runtime := runtimeBase(info, bases)
	scanWarnings, err := b.scanSecrets(ctx, req.Repository, dgst, runtime)
	if err != nil {
		return hallmark.BuildResult{}, err
	}
	if err := emitWarnings(emit, scanVertex, scanWarnings); err != nil {
		return hallmark.BuildResult{}, err
	}
	warnings = append(warnings, scanWarnings...)
	b.opts.logger.DebugContext(ctx, "build timings", "build_id", req.ID,
		"prepare_ms", prepared.Sub(begin).Milliseconds(), "pin_and_queue_ms", started.Sub(prepared).Milliseconds(),
		"solve_ms", solved.Sub(started).Milliseconds(), "checks_ms", time.Since(solved).Milliseconds())
	return hallmark.BuildResult{
		ID:               req.ID,
		Digest:           dgst,
		Repository:       req.Repository,
		Tags:             req.Tags,
		Pinned:           req.Repository + "@" + dgst.String(),
		Bases:            bases,
		RuntimeBase:      runtime,
		Started:          started,
		Solved:           solved,
		BuildKit:         b.buildKitInfo(ctx, c),
		Frontend:         frontend,
		CacheScope:       req.CacheScope,
		Network:          req.Network,
		DockerfileDigest: hallmark.SHA256(in.dockerfile),
		Warnings:         warnings,
		BasePolicy:       policy,
	}, nil
}

// inputs are a build's local directories and its Dockerfile. For a git
// source, contextDir is empty: BuildKit fetches the context itself.
type inputs struct {
	contextDir    string
	dockerfileDir string
	dockerfileKey string // path inside dockerfileDir, or inside the git context
	dockerfile    []byte
}

func (b *Builder) prepareInputs(ctx context.Context, c *client.Client, req hallmark.BuildRequest, work string) (inputs, error) {
	var in inputs
	if req.Git == nil {
		in.contextDir = filepath.Join(work, "context")
		if err := os.Mkdir(in.contextDir, 0o700); err != nil {
			return in, fmt.Errorf("create context dir: %w", err)
		}
		if err := b.contexts.Extract(ctx, req.ContextDigest, in.contextDir); err != nil {
			return in, fmt.Errorf("extract context %s: %w", req.ContextDigest, err)
		}
	}
	if len(req.DockerfileInline) > 0 {
		if len(req.DockerfileInline) > MaxDockerfileBytes {
			return in, fmt.Errorf("%w: inline dockerfile is %d bytes, the limit is %d", hallmark.ErrTooLarge, len(req.DockerfileInline), MaxDockerfileBytes)
		}
		in.dockerfileDir = filepath.Join(work, "dockerfile")
		in.dockerfileKey = "Dockerfile"
		in.dockerfile = req.DockerfileInline
		if err := os.Mkdir(in.dockerfileDir, 0o700); err != nil {
			return in, fmt.Errorf("create dockerfile dir: %w", err)
		}
		if err := os.WriteFile(filepath.Join(in.dockerfileDir, in.dockerfileKey), in.dockerfile, 0o600); err != nil {
			return in, fmt.Errorf("write dockerfile: %w", err)
		}
		return in, nil
	}
	rel := gitDockerfilePath(filepath.ToSlash(req.Dockerfile))
	if req.Git != nil {
		data, err := b.readGitDockerfile(ctx, c, req.Git, rel)
		in.dockerfile, in.dockerfileKey = data, rel
		return in, err
	}
	data, err := readInRoot(in.contextDir, rel)
	if err != nil {
		return in, err
	}
	in.dockerfile = data
	in.dockerfileDir = filepath.Join(in.contextDir, filepath.FromSlash(path.Dir(rel)))
	in.dockerfileKey = path.Base(rel)
	return in, nil
}

// readInRoot reads rel inside root without following links out of it.
func readInRoot(root, rel string) ([]byte, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("open context: %w", err)
	}
	defer r.Close()
	f, err := r.Open(filepath.FromSlash(rel))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: dockerfile %q not found in the build context", hallmark.ErrInvalid, rel)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: open dockerfile %q: %w", hallmark.ErrInvalid, rel, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat dockerfile: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: dockerfile %q is not a regular file", hallmark.ErrInvalid, rel)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxDockerfileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read dockerfile: %w", err)
	}
	if len(data) > MaxDockerfileBytes {
		return nil, fmt.Errorf("%w: dockerfile %q is over %d bytes", hallmark.ErrTooLarge, rel, MaxDockerfileBytes)
	}
	return data, nil
}

// buildKitInfo asks the daemon for its version; a daemon too old to answer
// gives an empty version rather than failing the build.
func (b *Builder) buildKitInfo(ctx context.Context, c *client.Client) hallmark.BuildKitInfo {
	info, err := c.Info(ctx)
	if err != nil {
		b.opts.logger.WarnContext(ctx, "read buildkit version", "error", err)
		return hallmark.BuildKitInfo{}
	}
	return hallmark.BuildKitInfo{Version: info.BuildkitVersion.Version, Revision: info.BuildkitVersion.Revision}
}

// runtimeBase finds the pinned image of the final stage's base.
func runtimeBase(info *DockerfileInfo, bases []hallmark.ResolvedBase) *hallmark.ResolvedBase {
	ref := info.RuntimeBase()
	for i := range bases {
		if ref != "" && bases[i].Ref == ref {
			b := bases[i]
			return &b
		}
	}
	return nil
}
