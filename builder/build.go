package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	"github.com/moby/buildkit/client"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/contextstore"
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
	p, rest, err := b.connect(ctx, b.pool.Order(PlacementKey(req)))
	if err != nil {
		return hallmark.BuildResult{}, err
	}
	work, err := os.MkdirTemp(b.opts.workDir, "build-")
	if err != nil {
		return hallmark.BuildResult{}, fmt.Errorf("create build dir: %w", err)
	}
	defer os.RemoveAll(work)

	a, err := b.admit(ctx, p, req, work, emit)
	if err != nil {
		return hallmark.BuildResult{}, err
	}
	defer a.release()
	defer func() { a.slot() }() // the slot of the worker the build ends on
	in, info, bases, policy := a.in, a.info, a.bases, a.policy

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
	pins := solvePins{bases: bases, frontend: a.frontendImage}
	var (
		config hallmark.Digest
		kit    hallmark.BuildKitInfo
	)
	dgst, p, err := b.solveOnPool(ctx, req.ID, p, rest, &a.slot, func(p placed) (hallmark.Digest, error) {
		// The worker's version, for the provenance, is asked while it
		// solves.
		ictx, cancel := context.WithCancel(ctx)
		defer cancel()
		info := make(chan hallmark.BuildKitInfo, 1)
		go func() { info <- b.buildKitInfo(ictx, p) }()
		d, c, err := b.solve(ctx, p, req, in, pins, collect)
		if err != nil {
			return d, err
		}
		config, kit = c, <-info
		return d, nil
	})
	if err != nil {
		return hallmark.BuildResult{}, err
	}
	solved := time.Now().UTC()
	img := b.pushed(req.Repository, dgst, config)
	runtime := runtimeBase(info, bases)
	scanWarnings, kept, err := b.checkPushed(ctx, img, info, req.AllowRoot, runtime)
	if err != nil {
		return hallmark.BuildResult{}, err
	}
	if err := emitWarnings(emit, scanVertex, scanWarnings); err != nil {
		return hallmark.BuildResult{}, err
	}
	warnings = append(warnings, scanWarnings...)
	b.opts.logger.DebugContext(ctx, "build timings", "build_id", req.ID,
		"prepare_ms", a.prepared.Sub(begin).Milliseconds(), "pin_and_queue_ms", a.queued.Sub(a.prepared).Milliseconds(),
		"extract_ms", started.Sub(a.queued).Milliseconds(), "solve_ms", solved.Sub(started).Milliseconds(),
		"worker", p.addr(), "checks_ms", time.Since(solved).Milliseconds(), "checks_kept", kept)
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
		BuildKit:         kit,
		Frontend:         a.frontend,
		CacheScope:       req.CacheScope,
		Network:          req.Network,
		DockerfileDigest: hallmark.SHA256(in.dockerfile),
		Warnings:         warnings,
		BasePolicy:       policy,
	}, nil
}

// admitted is a build that holds a queue slot of its worker, with its
// inputs ready.
type admitted struct {
	in   inputs
	info *DockerfileInfo
	// frontend is what the provenance names; frontendImage is the pinned
	// # syntax= image, or nil for the built-in frontend.
	frontend      string
	frontendImage *hallmark.ResolvedBase
	bases         []hallmark.ResolvedBase
	policy        *hallmark.BasePolicy
	prepared      time.Time // the Dockerfile was read and inspected
	queued        time.Time // the build got a queue slot
	// slot releases the queue slot; release releases the rest.
	slot    func()
	release func()
}

// admit does what a build does before BuildKit: it reads the Dockerfile (of
// an uploaded context straight from the stored archive), inspects it,
// applies the base-image policy and pins the bases, then waits for a slot in
// the queue of p's worker, and only then extracts the uploaded context, so
// that builds waiting in the queue hold no extracted files. The caller
// calls slot and release.
func (b *Builder) admit(ctx context.Context, p placed, req hallmark.BuildRequest, work string, emit func(hallmark.Event) error) (_ admitted, err error) {
	var done []func()
	a := admitted{release: func() {
		for _, f := range slices.Backward(done) {
			f()
		}
	}}
	defer func() {
		if err != nil {
			if a.slot != nil {
				a.slot()
			}
			a.release()
		}
	}()
	if req.Git == nil {
		// Held for the whole build: garbage collection keeps the context.
		use, err := b.contexts.Use(req.Requester, req.ContextDigest)
		if err != nil {
			return a, err
		}
		done = append(done, use)
	}
	if a.in, err = b.prepareInputs(ctx, p.c, req, work); err != nil {
		return a, err
	}
	if a.info, err = InspectDockerfile(a.in.dockerfile, req.BuildArgs, req.Target); err != nil {
		return a, err
	}
	if a.frontend, a.frontendImage, err = b.opts.chooseFrontend(a.in.dockerfile); err != nil {
		return a, err
	}
	if err := b.opts.checkBases(a.info); err != nil {
		return a, err
	}
	if err := checkReadable(a.info, req.Readable); err != nil {
		return a, err
	}
	a.prepared = time.Now()
	if a.bases, err = b.resolver.ResolveAll(ctx, a.info.Bases); err != nil {
		return a, err
	}
	if err := checkFrontendPin(a.frontendImage, a.bases); err != nil {
		return a, err
	}
	verifiedBy, err := b.verifyBases(ctx, a.info, a.bases)
	if err != nil {
		return a, err
	}
	a.policy = b.opts.recordBases(a.info, a.bases)
	for i := range a.policy.Bases {
		a.policy.Bases[i].VerifiedBy = verifiedBy
	}
	a.slot, err = p.w.Acquire(ctx, func(pos int) error {
		if err := emit(hallmark.Event{Accepted: &hallmark.Accepted{ID: req.ID, QueuePosition: pos, Bases: a.bases}}); err != nil {
			return err
		}
		return emitWarnings(emit, lintVertex, a.info.Warnings)
	})
	if err != nil {
		return a, err
	}
	a.queued = time.Now()
	return a, b.extractContext(ctx, req, &a.in, work)
}

// inputs are a build's local directories and its Dockerfile. For a git
// source, contextDir is empty: BuildKit fetches the context itself.
type inputs struct {
	contextDir    string
	dockerfileDir string
	dockerfileKey string // path inside dockerfileDir, or inside the git context
	dockerfileRel string // path inside an uploaded context
	dockerfile    []byte
}

// prepareInputs finds the Dockerfile: inline, in the git commit, or in the
// stored archive of the uploaded context, which it does not extract yet
// (extractContext does, once the build has a queue slot).
func (b *Builder) prepareInputs(ctx context.Context, c *client.Client, req hallmark.BuildRequest, work string) (inputs, error) {
	var in inputs
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
	data, err := b.contexts.ReadFile(ctx, req.ContextDigest, rel, MaxDockerfileBytes)
	var fe *contextstore.FileError
	if errors.As(err, &fe) {
		return in, dockerfileError(rel, fe.Err)
	}
	if err != nil {
		return in, fmt.Errorf("read context %s: %w", req.ContextDigest, err)
	}
	in.dockerfile, in.dockerfileRel = data, rel
	return in, nil
}

// extractContext extracts the uploaded context of req into work/context
// and checks that the Dockerfile there is the one prepareInputs read, and
// so the one inspected and recorded.
func (b *Builder) extractContext(ctx context.Context, req hallmark.BuildRequest, in *inputs, work string) error {
	if req.Git != nil {
		return nil
	}
	in.contextDir = filepath.Join(work, "context")
	if err := os.Mkdir(in.contextDir, 0o700); err != nil {
		return fmt.Errorf("create context dir: %w", err)
	}
	if err := b.contexts.Extract(ctx, req.ContextDigest, in.contextDir); err != nil {
		return fmt.Errorf("extract context %s: %w", req.ContextDigest, err)
	}
	if in.dockerfileRel == "" {
		return nil // an inline Dockerfile
	}
	rel := in.dockerfileRel
	data, err := readInRoot(in.contextDir, rel)
	if err != nil {
		return err
	}
	if !bytes.Equal(data, in.dockerfile) {
		// Never expected: ReadFile follows extraction's rules.
		return fmt.Errorf("dockerfile %q of context %s differs after extraction from the one inspected", rel, req.ContextDigest)
	}
	in.dockerfileDir = filepath.Join(in.contextDir, filepath.FromSlash(path.Dir(rel)))
	in.dockerfileKey = path.Base(rel)
	return nil
}

// dockerfileError describes why the Dockerfile rel could not be read from
// the context.
func dockerfileError(rel string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: dockerfile %q not found in the build context", hallmark.ErrInvalid, rel)
	case errors.Is(err, contextstore.ErrNotRegular):
		return fmt.Errorf("%w: dockerfile %q is not a regular file", hallmark.ErrInvalid, rel)
	case errors.Is(err, hallmark.ErrTooLarge):
		return fmt.Errorf("%w: dockerfile %q is over %d bytes", hallmark.ErrTooLarge, rel, MaxDockerfileBytes)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("%w: open dockerfile %q: %w", hallmark.ErrInvalid, rel, err)
}

// readInRoot reads rel inside root without following links out of it.
func readInRoot(root, rel string) ([]byte, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("open context: %w", err)
	}
	defer r.Close()
	f, err := r.Open(filepath.FromSlash(rel))
	if err != nil {
		return nil, dockerfileError(rel, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat dockerfile: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, dockerfileError(rel, contextstore.ErrNotRegular)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxDockerfileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read dockerfile: %w", err)
	}
	if len(data) > MaxDockerfileBytes {
		return nil, dockerfileError(rel, hallmark.ErrTooLarge)
	}
	return data, nil
}

// buildKitInfo names the worker p and asks it for its version; a daemon
// too old to answer gives an empty version rather than failing the build.
func (b *Builder) buildKitInfo(ctx context.Context, p placed) hallmark.BuildKitInfo {
	info, err := p.c.Info(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return hallmark.BuildKitInfo{Address: p.addr()}
		}
		b.opts.logger.WarnContext(ctx, "read buildkit version", "worker", p.addr(), "error", err)
		return hallmark.BuildKitInfo{Address: p.addr()}
	}
	return hallmark.BuildKitInfo{Version: info.BuildkitVersion.Version, Revision: info.BuildkitVersion.Revision, Address: p.addr()}
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
