package builder

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmark "github.com/hallmark-dev/hallmark"
)

// MoveTags points every tag at the image digest in repository. It is the last
// step of a build: call it only once the image is complete (and, with
// attestations, attested). Each tag is checked to name repository first, so a
// bad tag moves nothing.
func (b *Builder) MoveTags(ctx context.Context, repository string, digest hallmark.Digest, tags []string) error {
	opts := b.remoteOptions(ctx)
	refs := make([]name.Tag, 0, len(tags))
	for _, t := range tags {
		tag, err := name.NewTag(t, b.nameOptions(t)...)
		if err != nil {
			return fmt.Errorf("%w: tag %q: %w", hallmark.ErrInvalid, t, err)
		}
		if tag.Context().Name() != repository {
			return fmt.Errorf("%w: tag %q is not in repository %q", hallmark.ErrInvalid, t, repository)
		}
		refs = append(refs, tag)
	}
	src, err := name.NewDigest(repository+"@"+digest.String(), b.nameOptions(repository)...)
	if err != nil {
		return fmt.Errorf("%w: image %s@%s: %w", hallmark.ErrInvalid, repository, digest, err)
	}
	desc, err := remote.Get(src, opts...)
	if err != nil {
		return fmt.Errorf("fetch pushed image %s: %w", src, registryError(err))
	}
	for _, tag := range refs {
		if err := remote.Tag(tag, desc, opts...); err != nil {
			return fmt.Errorf("tag %s: %w", tag, registryError(err))
		}
	}
	return nil
}

func (b *Builder) remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(b.opts.keychain()),
		remote.Reuse(b.resolver.puller), remote.Reuse(b.pusher)}
}

func (b *Builder) nameOptions(ref string) []name.Option {
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err == nil && b.isInsecure(r.Context().RegistryStr()) {
		return []name.Option{name.Insecure}
	}
	if repo, err := name.NewRepository(ref); err == nil && b.isInsecure(repo.RegistryStr()) {
		return []name.Option{name.Insecure}
	}
	return nil
}
