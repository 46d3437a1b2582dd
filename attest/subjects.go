package attest

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/sbom"
	"github.com/hallmark-dev/hallmark/registry"
)

// describeParallelism bounds the SBOMs generated at once: cataloging is
// mostly decompression, CPU-bound.
var describeParallelism = max(runtime.GOMAXPROCS(0), 2)

// subject is one manifest that gets attestations.
type subject struct {
	ref    name.Digest
	digest hallmark.Digest
	// platform is the platform of a platform manifest of an index; empty
	// for a single image and for the index.
	platform string
	// image is the image to catalog; nil for an index (no SBOM).
	image v1.Image
	// index marks the index of a multi-platform build, inIndex its
	// platform manifests.
	index, inIndex bool
}

// of names the subject in messages: "" for a single image.
func (s subject) of() string {
	switch {
	case s.index:
		return " for the index"
	case s.platform != "":
		return " for " + s.platform
	case s.inIndex:
		return " for " + s.digest.String()
	}
	return ""
}

// statement is one statement to sign and publish.
type statement struct {
	subject       subject
	predicateType string
	data          []byte
	packages      []string // purls of an SBOM's packages
}

// subjects returns what ref, the built image, gets attestations for: the
// image itself; or, for an image index, every platform manifest
// (registry.PlatformManifests, in index order) and then the index. The
// index gets provenance only: its SBOMs are its platforms', as BuildKit
// and docker attach them, and its digest commits to every platform
// manifest's digest.
func (a *Attester) subjects(ctx context.Context, ref name.Digest) ([]subject, error) {
	desc, err := remote.Get(ref, a.opts.registry.RemoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", ref, registry.Error(ctx, err))
	}
	d := hallmark.Digest(ref.DigestStr())
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("read image %s: %w", ref, err)
		}
		return []subject{{ref: ref, digest: d, image: img}}, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", ref, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", ref, registry.Error(ctx, err))
	}
	pms, err := registry.PlatformManifests(m)
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", ref, err)
	}
	out := make([]subject, 0, len(pms)+1)
	for _, pm := range pms {
		img, err := idx.Image(pm.Descriptor.Digest)
		if err != nil {
			return nil, fmt.Errorf("read image %s of index %s: %w", pm.Descriptor.Digest, ref, registry.Error(ctx, err))
		}
		cd := hallmark.Digest(pm.Descriptor.Digest.String())
		out = append(out, subject{ref: ref.Context().Digest(cd.String()), digest: cd, platform: pm.Platform, image: img, inIndex: true})
	}
	return append(out, subject{ref: ref, digest: d, index: true}), nil
}

// described is the progress line for the described statements: for a
// single image "described sha256:…: SBOM with N packages, SLSA
// provenance", for an index one clause per platform.
func described(ref name.Digest, statements []statement) string {
	if len(statements) == 2 && !statements[1].subject.index {
		return fmt.Sprintf("described %s: SBOM with %d packages, SLSA provenance", ref.DigestStr(), len(statements[0].packages))
	}
	var parts []string
	for _, st := range statements {
		if st.predicateType == hallmark.PredicateSPDX {
			label := strings.TrimSpace(st.subject.platform + " " + shortDigest(st.subject.digest))
			parts = append(parts, fmt.Sprintf("%s: SBOM with %d packages, SLSA provenance", label, len(st.packages)))
		}
	}
	return fmt.Sprintf("described index %s: %s; index: SLSA provenance", ref.DigestStr(), strings.Join(parts, "; "))
}

// shortDigest abbreviates "sha256:<hex>" to its first 12 hex digits.
func shortDigest(d hallmark.Digest) string {
	s := d.String()
	if i := strings.IndexByte(s, ':'); i >= 0 && len(s) > i+13 {
		return s[:i+13]
	}
	return s
}

// baseSBOM returns the verified Hallmark SBOM of the build's runtime base
// for platform (the base's own SBOM, or for a base index the SBOM of its
// manifest for platform; "" is the build's only platform), or nil (then the
// whole image is cataloged, which is always safe: WithBaseSBOM also checks
// that the layers are the base's).
func (a *Attester) baseSBOM(ctx context.Context, res hallmark.BuildResult, platform string, logf func(string, ...any)) *sbom.Document {
	if a.opts.bases == nil || res.RuntimeBase == nil {
		return nil
	}
	pinned := res.RuntimeBase.Pinned
	if p, err := a.basePlatform(ctx, pinned, platform); err != nil {
		a.opts.logger.WarnContext(ctx, "resolve base platform", "base", pinned, "platform", platform, "error", err)
		return nil
	} else if p != "" {
		pinned = p
	}
	key := fmt.Sprintf("%p %s", a.opts.bases, pinned) // what verified it, and what
	if doc := a.bases.get(key); doc != nil {
		logf("reusing the verified SBOM of base %s (%d packages, verified in the last %s)", pinned, len(doc.Packages()), baseSBOMTTL)
		return doc
	}
	r, err := a.opts.bases.Image(ctx, pinned)
	if err != nil {
		a.opts.logger.WarnContext(ctx, "verify base sbom", "base", pinned, "error", err)
		return nil
	}
	for _, att := range r.Verified(hallmark.PredicateSPDX) {
		doc, err := sbom.Parse(att.Statement.Predicate)
		if err != nil {
			continue
		}
		logf("reusing the verified SBOM of base %s (%d packages)", pinned, len(doc.Packages()))
		a.bases.put(key, doc)
		return doc
	}
	return nil
}

// basePlatform returns the reference of the manifest for platform in the
// base pinned, when pinned is an index and platform names one of its
// platforms; "" otherwise (the base itself is read).
func (a *Attester) basePlatform(ctx context.Context, pinned, platform string) (string, error) {
	if platform == "" {
		return "", nil
	}
	ref, err := a.opts.registry.ParseDigest(pinned)
	if err != nil {
		return "", err
	}
	desc, err := remote.Get(ref, a.opts.registry.RemoteOptions(ctx)...)
	if err != nil {
		return "", registry.Error(ctx, err)
	}
	if !desc.MediaType.IsIndex() {
		return "", nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return "", err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return "", err
	}
	pms, err := registry.PlatformManifests(m)
	if err != nil {
		return "", err
	}
	for _, pm := range pms {
		if ok, err := registry.MatchPlatform(pm.Descriptor.Platform, platform); err == nil && ok {
			return ref.Context().Digest(pm.Descriptor.Digest.String()).String(), nil
		}
	}
	return "", nil
}
