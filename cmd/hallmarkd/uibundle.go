package main

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// bundleReader reads, for the web view's downloads, the Sigstore bundle
// an attestation's referrer manifest carries in repository, through the
// gateway's registry client; a bundle over maxBytes is refused.
func bundleReader(rc *registry.Client, maxBytes int64) func(context.Context, string, hallmark.Digest) ([]byte, error) {
	return func(ctx context.Context, repo string, referrer hallmark.Digest) ([]byte, error) {
		d, err := rc.ParseDigest(repo + "@" + string(referrer))
		if err != nil {
			return nil, err
		}
		img, err := remote.Image(d, rc.RemoteOptions(ctx)...)
		if err != nil {
			return nil, fmt.Errorf("read referrer %s: %w", d, registry.Error(ctx, err))
		}
		m, err := img.Manifest()
		if err != nil {
			return nil, fmt.Errorf("read referrer %s: %w", d, registry.Error(ctx, err))
		}
		for _, l := range m.Layers {
			if string(l.MediaType) != hallmark.MediaTypeBundleV03 {
				continue
			}
			// Bounded, and checked against the layer's digest and size.
			b, err := registry.ReadBlob(ctx, d.Context().Digest(l.Digest.String()), l.Size, maxBytes, rc.RemoteOptions(ctx)...)
			if err != nil {
				return nil, fmt.Errorf("read bundle of %s: %w", d, err)
			}
			return b, nil
		}
		return nil, fmt.Errorf("%w: referrer %s carries no Sigstore bundle", hallmark.ErrNotFound, d)
	}
}
