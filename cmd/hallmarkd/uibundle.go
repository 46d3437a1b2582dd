package main

import (
	"context"
	"fmt"
	"io"

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
			return nil, fmt.Errorf("read referrer %s: %w", d, err)
		}
		layers, err := img.Layers()
		if err != nil {
			return nil, fmt.Errorf("read referrer %s: %w", d, err)
		}
		for _, l := range layers {
			if mt, err := l.MediaType(); err != nil || string(mt) != hallmark.MediaTypeBundleV03 {
				continue
			}
			if size, err := l.Size(); err == nil && size > maxBytes {
				return nil, fmt.Errorf("%w: bundle of %s: %d bytes, over %d", hallmark.ErrTooLarge, d, size, maxBytes)
			}
			rd, err := l.Compressed()
			if err != nil {
				return nil, fmt.Errorf("read bundle of %s: %w", d, err)
			}
			defer rd.Close()
			b, err := io.ReadAll(io.LimitReader(rd, maxBytes+1))
			if err != nil {
				return nil, fmt.Errorf("read bundle of %s: %w", d, err)
			}
			if int64(len(b)) > maxBytes {
				return nil, fmt.Errorf("%w: bundle of %s: over %d bytes", hallmark.ErrTooLarge, d, maxBytes)
			}
			return b, nil
		}
		return nil, fmt.Errorf("%w: referrer %s carries no Sigstore bundle", hallmark.ErrNotFound, d)
	}
}
