package builder

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// maxPlatformImages bounds the platform images read from one index.
const maxPlatformImages = 64

// scanSecrets scans the pushed image repo@d for secrets: every file of the
// layers the build added on top of the runtime base (nil for scratch), and
// the environment variables and labels it added. Findings the allowlist
// accepts, and a scan cut short by its budget, become warnings; any other
// finding is an error wrapping hallmark.ErrInvalid that names the path or
// key and the rule, never the secret.
func (b *Builder) scanSecrets(ctx context.Context, repo string, d hallmark.Digest, runtime *hallmark.ResolvedBase) ([]string, error) {
	if b.opts.noSecretScan {
		return []string{"HallmarkSecretScan: the gateway's secret scan is disabled (unsafe): this image was not checked for secrets"}, nil
	}
	imgs, err := b.platformImages(ctx, repo+"@"+d.String())
	if err != nil {
		return nil, fmt.Errorf("scan pushed image for secrets: %w", err)
	}
	baseLayers := map[v1.Hash]bool{}
	baseEnv := map[string]bool{}
	baseLabels := map[string]string{}
	if runtime != nil {
		bimgs, err := b.platformImages(ctx, runtime.Pinned)
		if err != nil {
			return nil, fmt.Errorf("scan for secrets: read runtime base: %w", err)
		}
		for _, img := range bimgs {
			cfg, err := img.ConfigFile()
			if err != nil {
				return nil, fmt.Errorf("scan for secrets: read runtime base config: %w", registry.Error(ctx, err))
			}
			for _, id := range cfg.RootFS.DiffIDs {
				baseLayers[id] = true
			}
			for _, e := range cfg.Config.Env {
				baseEnv[e] = true
			}
			for k, v := range cfg.Config.Labels {
				baseLabels[k] = v
			}
		}
	}
	s := newScanner()
	scanned := map[v1.Hash]bool{}
	for _, img := range imgs {
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("scan for secrets: read image config: %w", registry.Error(ctx, err))
		}
		layers, err := img.Layers()
		if err != nil {
			return nil, fmt.Errorf("scan for secrets: read image layers: %w", registry.Error(ctx, err))
		}
		inBase := true
		for i, l := range layers {
			id, err := l.DiffID()
			if err != nil {
				return nil, fmt.Errorf("scan for secrets: read layer %d: %w", i+1, registry.Error(ctx, err))
			}
			// The base's layers come first; the build's follow.
			if inBase && baseLayers[id] {
				continue
			}
			inBase = false
			if scanned[id] {
				continue
			}
			scanned[id] = true
			if err := scanLayer(ctx, s, l, i+1); err != nil {
				return nil, err
			}
		}
		s.scanConfig(cfg.Config.Env, cfg.Config.Labels, baseEnv, baseLabels)
	}
	warnings, err := s.verdict(b.opts.secretAllow)
	if err != nil {
		b.opts.logger.InfoContext(ctx, "secret scan refused the image", "image", repo+"@"+d.String(), "findings", len(s.findings))
	}
	return warnings, err
}

func scanLayer(ctx context.Context, s *scanner, l v1.Layer, index int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", hallmark.ErrCanceled, context.Cause(ctx))
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("scan for secrets: fetch layer %d: %w", index, registry.Error(ctx, err))
	}
	defer rc.Close()
	if err := s.scanLayer(rc, index); err != nil {
		return fmt.Errorf("scan for secrets: %w", registry.Error(ctx, err))
	}
	return nil
}

// platformImages reads the image ref names ("repo@sha256:…"): the image
// itself, or every platform image of an index (attestation manifests left
// out).
func (b *Builder) platformImages(ctx context.Context, ref string) ([]v1.Image, error) {
	r, err := b.opts.registry.ParseDigest(ref)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	desc, err := remote.Get(r, b.opts.registry.RemoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w", ref, registry.Error(ctx, err))
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("read image %s: %w", ref, err)
		}
		return []v1.Image{img}, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", ref, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", ref, registry.Error(ctx, err))
	}
	var out []v1.Image
	for _, child := range m.Manifests {
		if !child.MediaType.IsImage() || child.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		if len(out) == maxPlatformImages {
			return nil, fmt.Errorf("%w: index %s has more than %d images", hallmark.ErrTooLarge, ref, maxPlatformImages)
		}
		img, err := idx.Image(child.Digest)
		if err != nil {
			return nil, fmt.Errorf("read image %s: %w", child.Digest, registry.Error(ctx, err))
		}
		out = append(out, img)
	}
	return out, nil
}
