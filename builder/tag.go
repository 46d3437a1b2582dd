package builder

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// MoveTags points every tag at the image digest in repository, all at once.
// It is the last step of a build: call it only once the image is complete
// (and, with attestations, attested). Each tag is checked to name
// repository first, so a bad tag moves nothing.
func (b *Builder) MoveTags(ctx context.Context, repository string, digest hallmark.Digest, tags []string) error {
	opts := b.opts.registry.RemoteOptions(ctx)
	refs := make([]name.Tag, 0, len(tags))
	for _, t := range tags {
		tag, err := b.opts.registry.ParseTag(t)
		if err != nil {
			return fmt.Errorf("tag %q: %w", t, err)
		}
		if tag.Context().Name() != repository {
			return fmt.Errorf("%w: tag %q is not in repository %q", hallmark.ErrInvalid, t, repository)
		}
		refs = append(refs, tag)
	}
	src, err := b.opts.registry.ParseDigest(repository + "@" + digest.String())
	if err != nil {
		return fmt.Errorf("image %s@%s: %w", repository, digest, err)
	}
	var desc remote.Taggable
	if m, ok := b.manifests.Get(src.String()); ok {
		desc = m // read by the checks after the solve
	} else {
		d, err := remote.Get(src, opts...)
		if err != nil {
			return fmt.Errorf("fetch pushed image %s: %w", src, registry.Error(ctx, err))
		}
		desc = d
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, tag := range refs {
		g.Go(func() error { return b.moveTag(gctx, tag, desc, digest) })
	}
	return g.Wait()
}

// moveTag points tag at desc, whose digest is digest. A tag that already
// names it is left alone: asking costs a HEAD, and pushing the manifest
// again costs the registry a write (three to four times as long).
func (b *Builder) moveTag(ctx context.Context, tag name.Tag, desc remote.Taggable, digest hallmark.Digest) error {
	opts := b.opts.registry.RemoteOptions(ctx)
	if now, err := remote.Head(tag, opts...); err == nil && now.Digest.String() == digest.String() {
		return nil
	}
	// Any error asking (a tag not there yet) leaves it to the push, which
	// reports its own.
	if err := remote.Tag(tag, desc, opts...); err != nil {
		return fmt.Errorf("tag %s: %w", tag, registry.Error(ctx, err))
	}
	return nil
}
