package builder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/debian"
	"github.com/hallmark-dev/hallmark/registry"
)

// WithDebianCache sets the directory where base builds cache the .deb
// files they download, by sha256. The default is <work dir>/debs.
func WithDebianCache(dir string) Option {
	return func(o *options) error { o.debCache = dir; return nil }
}

// BuildBase builds the base image req's BaseImage spec describes
// (builder/debian): it resolves the packages with apt, fetches and checks
// every .deb, assembles the image and pushes it by digest. emit receives an
// acceptance event and one progress step per stage. Base builds do not use
// BuildKit and do not wait in its queue. It does not move any tag: see
// MoveTags. A bad spec, an unknown package, an unsatisfiable dependency or
// a checksum mismatch fails before anything is pushed.
func (b *Builder) BuildBase(ctx context.Context, req hallmark.BaseRequest, emit func(hallmark.Event) error) (hallmark.BaseResult, error) {
	spec, err := debian.ParseSpec(req.Spec)
	if err != nil {
		return hallmark.BaseResult{}, err
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return hallmark.BaseResult{}, fmt.Errorf("encode spec: %w", err)
	}
	repo, err := b.opts.registry.ParseRepository(req.Repository)
	if err != nil {
		return hallmark.BaseResult{}, fmt.Errorf("repository %q: %w", req.Repository, err)
	}
	if err := emit(hallmark.Event{Accepted: &hallmark.Accepted{ID: req.ID}}); err != nil {
		return hallmark.BaseResult{}, err
	}
	started := time.Now().UTC()

	step, err := startStep(emit, fmt.Sprintf("[base 1/4] resolve %d packages and their dependencies with apt", len(spec.Spec.Packages)))
	if err != nil {
		return hallmark.BaseResult{}, err
	}
	plan, err := b.apt.Resolve(ctx, spec)
	if err == nil {
		step.log("%d packages from %s", len(plan.Packages), strings.Join(plan.Sources, ", "))
		for _, p := range plan.Packages {
			step.log("%s %s %s", p.Name, p.Version, p.Architecture)
		}
	}
	if err := step.done(err); err != nil {
		return hallmark.BaseResult{}, err
	}

	if step, err = startStep(emit, "[base 2/4] fetch the .deb files, check each sha256 against the signed index"); err != nil {
		return hallmark.BaseResult{}, err
	}
	debs, st, err := b.debs.Fetch(ctx, plan)
	if errors.Is(err, hallmark.ErrNotFound) {
		// The lists are older than the mirror, which has dropped a
		// superseded .deb: refresh them, resolve again, fetch again, once.
		step.log("%v", err)
		step.log("the package lists are older than the mirror: refreshing them and resolving again")
		if err = b.apt.Refresh(ctx, spec); err == nil {
			if plan, err = b.apt.Resolve(ctx, spec); err == nil {
				debs, st, err = b.debs.Fetch(ctx, plan)
			}
		}
	}
	if err == nil {
		step.log("%d downloaded (%s), %d from the cache; every sha256 matches", st.Downloaded, units.HumanSize(float64(st.Bytes)), st.Cached)
	}
	if err := step.done(err); err != nil {
		return hallmark.BaseResult{}, err
	}

	if step, err = startStep(emit, "[base 3/4] unpack into one reproducible layer"); err != nil {
		return hallmark.BaseResult{}, err
	}
	img, err := debian.Assemble(ctx, spec, plan, debs, debian.WithWorkDir(b.opts.workDir))
	if err == nil {
		defer img.Close()
		step.log("%d entries, %s unpacked, created %s", img.Entries, units.HumanSize(float64(img.UnpackedBytes)), img.Created.Format(time.RFC3339))
		for _, w := range img.Warnings {
			step.log("warning: %s", w)
		}
	}
	if err := step.done(err); err != nil {
		return hallmark.BaseResult{}, err
	}

	if step, err = startStep(emit, "[base 4/4] push by digest to "+repo.Name()); err != nil {
		return hallmark.BaseResult{}, err
	}
	dgst, err := b.pushImage(ctx, repo, img)
	if err == nil {
		step.log("pushed %s@%s", repo.Name(), dgst)
	}
	if err := step.done(err); err != nil {
		return hallmark.BaseResult{}, err
	}
	solved := time.Now().UTC()
	b.opts.logger.InfoContext(ctx, "base image built", "build_id", req.ID, "image", repo.Name()+"@"+dgst.String(),
		"packages", len(img.Packages), "seconds", solved.Sub(started).Seconds())

	res := hallmark.BaseResult{
		Build: hallmark.BuildResult{
			ID: req.ID, Digest: dgst, Repository: req.Repository, Tags: req.Tags,
			Pinned: req.Repository + "@" + dgst.String(), Started: started, Solved: solved, Warnings: img.Warnings,
		},
		Spec:         specJSON,
		SpecDigest:   hallmark.SHA256(req.Spec),
		Architecture: plan.Architecture,
		Sources:      plan.Sources,
	}
	for _, p := range img.Packages {
		res.Packages = append(res.Packages, hallmark.DebianPackage{
			Name: p.Name, Version: p.Version, Architecture: p.Architecture, URI: p.URI, SHA256: p.SHA256, Size: p.Size,
		})
	}
	return res, nil
}

// pushImage pushes img by digest only.
func (b *Builder) pushImage(ctx context.Context, repo name.Repository, img *debian.Image) (hallmark.Digest, error) {
	d, err := img.Image.Digest()
	if err != nil {
		return "", fmt.Errorf("compute image digest: %w", err)
	}
	ref := repo.Digest(d.String())
	if err := remote.Write(ref, img.Image, b.opts.registry.RemoteOptions(ctx)...); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, registry.Error(ctx, err))
	}
	return hallmark.ParseDigest(d.String())
}

// progressStep reports one stage of a base build as a progress vertex.
type progressStep struct {
	emit    func(hallmark.Event) error
	digest  string
	name    string
	started time.Time
	err     error // the first send error
}

// startStep sends the step's start.
func startStep(emit func(hallmark.Event) error, name string) (*progressStep, error) {
	s := &progressStep{emit: emit, name: name, started: time.Now()}
	s.digest = hallmark.SHA256([]byte(name + s.started.String())).String()
	err := emit(hallmark.Event{Status: &hallmark.SolveStatus{Vertexes: []hallmark.Vertex{{Digest: s.digest, Name: name, Started: &s.started}}}})
	return s, err
}

// log sends one line of the step's output.
func (s *progressStep) log(format string, args ...any) {
	if s.err != nil {
		return
	}
	line := fmt.Sprintf(format, args...) + "\n"
	s.err = s.emit(hallmark.Event{Status: &hallmark.SolveStatus{Logs: []hallmark.VertexLog{{Vertex: s.digest, Timestamp: time.Now(), Stream: 1, Data: []byte(line)}}}})
}

// done completes the step, failed if cause is set, and returns cause or
// the first send error.
func (s *progressStep) done(cause error) error {
	now := time.Now()
	v := hallmark.Vertex{Digest: s.digest, Name: s.name, Started: &s.started, Completed: &now}
	if cause != nil {
		v.Error = "failed; see the error that ends the build"
		if classified(cause) {
			v.Error = cause.Error()
		}
	}
	err := s.emit(hallmark.Event{Status: &hallmark.SolveStatus{Vertexes: []hallmark.Vertex{v}}})
	switch {
	case cause != nil:
		return cause
	case s.err != nil:
		return s.err
	}
	return err
}

// classified reports whether err carries a class whose message is written
// for the caller (the server sends only those).
func classified(err error) bool {
	for _, c := range []error{hallmark.ErrInvalid, hallmark.ErrNotFound, hallmark.ErrTooLarge, hallmark.ErrUnavailable,
		hallmark.ErrPermissionDenied, hallmark.ErrBuildFailed, hallmark.ErrCanceled} {
		if errors.Is(err, c) {
			return true
		}
	}
	return false
}
