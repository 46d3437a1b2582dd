package basebuild

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

// BuildBase builds the base image req's BaseImage spec describes
// (builder/debian): it resolves the packages with apt, fetches and checks
// every .deb, assembles the image and pushes it by digest. emit receives an
// acceptance event and one progress step per stage. Base builds do not use
// BuildKit and do not wait in its queue. It does not move any tag: the
// caller does, once the image is attested (builder.Builder.MoveTags). A bad spec, an unknown package, an unsatisfiable dependency or
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
	repo, err := b.registry.ParseRepository(req.Repository)
	if err != nil {
		return hallmark.BaseResult{}, fmt.Errorf("repository %q: %w", req.Repository, err)
	}
	if err := emit(hallmark.Event{Accepted: &hallmark.Accepted{ID: req.ID}}); err != nil {
		return hallmark.BaseResult{}, err
	}
	started := time.Now().UTC()

	step, err := hallmark.StartStep(emit, fmt.Sprintf("[base 1/4] resolve %d packages and their dependencies with apt", len(spec.Spec.Packages)))
	if err != nil {
		return hallmark.BaseResult{}, err
	}
	plan, err := b.apt.Resolve(ctx, spec)
	if err == nil {
		step.Logf("%d packages from %s", len(plan.Packages), strings.Join(plan.Sources, ", "))
		for _, p := range plan.Packages {
			step.Logf("%s %s %s", p.Name, p.Version, p.Architecture)
		}
	}
	if err := finish(step, err); err != nil {
		return hallmark.BaseResult{}, err
	}

	if step, err = hallmark.StartStep(emit, "[base 2/4] fetch the .deb files, check each sha256 against the signed index"); err != nil {
		return hallmark.BaseResult{}, err
	}
	debs, st, err := b.debs.Fetch(ctx, plan)
	if errors.Is(err, hallmark.ErrNotFound) {
		// The lists are older than the mirror, which has dropped a
		// superseded .deb: refresh them, resolve again, fetch again, once.
		step.Logf("%v", err)
		step.Logf("the package lists are older than the mirror: refreshing them and resolving again")
		if err = b.apt.Refresh(ctx, spec); err == nil {
			if plan, err = b.apt.Resolve(ctx, spec); err == nil {
				debs, st, err = b.debs.Fetch(ctx, plan)
			}
		}
	}
	if err == nil {
		step.Logf("%d downloaded (%s), %d from the cache; every sha256 matches", st.Downloaded, units.HumanSize(float64(st.Bytes)), st.Cached)
	}
	if err := finish(step, err); err != nil {
		return hallmark.BaseResult{}, err
	}

	if step, err = hallmark.StartStep(emit, "[base 3/4] unpack into one reproducible layer"); err != nil {
		return hallmark.BaseResult{}, err
	}
	img, err := debian.Assemble(ctx, spec, plan, debs, debian.WithWorkDir(b.opts.workDir))
	if err == nil {
		defer img.Close()
		step.Logf("%d entries, %s unpacked, created %s", img.Entries, units.HumanSize(float64(img.UnpackedBytes)), img.Created.Format(time.RFC3339))
		for _, w := range img.Warnings {
			step.Logf("warning: %s", w)
		}
	}
	if err := finish(step, err); err != nil {
		return hallmark.BaseResult{}, err
	}

	if step, err = hallmark.StartStep(emit, "[base 4/4] push by digest to "+repo.Name()); err != nil {
		return hallmark.BaseResult{}, err
	}
	dgst, err := b.pushImage(ctx, repo, img)
	if err == nil {
		step.Logf("pushed %s@%s", repo.Name(), dgst)
	}
	if err := finish(step, err); err != nil {
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
	if err := remote.Write(ref, img.Image, b.registry.RemoteOptions(ctx)...); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, registry.Error(ctx, err))
	}
	return hallmark.ParseDigest(d.String())
}

// finish completes step (hallmark.Step.Done) and returns cause, or else
// the error of sending the step's progress: a base build stops at the first
// failed stage.
func finish(step *hallmark.Step, cause error) error {
	if err := step.Done(cause); cause == nil {
		return err
	}
	return cause
}
