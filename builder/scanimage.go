package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/secretscan"
	"github.com/hallmark-dev/hallmark/registry"
)

// maxPlatformImages bounds the platform images read from one index.
const maxPlatformImages = 64

// WithSecretScanAllowPaths lets the secret scan accept findings at paths
// that match one of patterns: absolute paths in the image ("/etc/ssl/private/*",
// "/app/**/fixtures/**"; a leading "/" is implied), or "env:NAME" and
// "label:KEY" for the image's environment and labels
// (secretscan.WithAllowPaths). Patterns use the syntax of
// WithBaseImageAllow. Accepted findings become build warnings, recorded in
// the provenance. The default is none.
func WithSecretScanAllowPaths(patterns ...string) Option {
	return func(o *options) error {
		o.secretScan = append(o.secretScan, secretscan.WithAllowPaths(patterns...))
		return nil
	}
}

// WithoutSecretScanUnsafe turns off the scan of built images for secrets.
// Dangerous: an image with a private key or token in a layer gets tagged
// and published; every build then carries a warning saying so. The default
// is to scan every image before it is attested and tagged.
func WithoutSecretScanUnsafe() Option {
	return func(o *options) error { o.noSecretScan = true; return nil }
}

// scanSecrets scans the pushed image img for secrets with
// secretscan.Scanner.Scan: every platform image, on top of those of the
// runtime base (nil for scratch). Findings the allowlist accepts, and a
// scan cut short by its budget, become warnings; any other finding is an
// error wrapping hallmark.ErrInvalid that names the path or key and the
// rule, never the secret.
func (b *Builder) scanSecrets(ctx context.Context, img *pushedImage, runtime *hallmark.ResolvedBase) ([]string, error) {
	if b.opts.noSecretScan {
		return []string{"HallmarkSecretScan: the gateway's secret scan is disabled (unsafe): this image was not checked for secrets"}, nil
	}
	imgs, err := img.platforms(ctx)
	if err != nil {
		return nil, fmt.Errorf("scan pushed image for secrets: %w", err)
	}
	var base []v1.Image
	if runtime != nil {
		read := func(ctx context.Context, ref string) ([]v1.Image, error) { return b.platformImages(ctx, ref, "") }
		if base, err = b.baseConfigs.images(ctx, runtime.Pinned, read); err != nil {
			return nil, fmt.Errorf("scan for secrets: read runtime base: %w", err)
		}
	}
	warnings, err := b.secrets.Scan(ctx, imgs, base)
	if fe := (*secretscan.FindingsError)(nil); errors.As(err, &fe) {
		b.opts.logger.InfoContext(ctx, "secret scan refused the image", "image", img.ref, "findings", len(fe.Refused))
	}
	return warnings, err
}

// pushedImage is a built image the checks after the solve read: its
// platform images are read from the registry once for all of them.
type pushedImage struct {
	b      *Builder
	ref    string          // repo@sha256:…
	config hallmark.Digest // the config's digest as BuildKit reported it, or empty

	once sync.Once
	imgs []v1.Image
	err  error
}

// pushed is the image pushed to repo with digest d; config, when not
// empty, is its config's digest as BuildKit reported it.
func (b *Builder) pushed(repo string, d, config hallmark.Digest) *pushedImage {
	return &pushedImage{b: b, ref: repo + "@" + d.String(), config: config}
}

// platforms returns the image's platform images (platformImages).
func (p *pushedImage) platforms(ctx context.Context) ([]v1.Image, error) {
	p.once.Do(func() { p.imgs, p.err = p.b.platformImages(ctx, p.ref, p.config) })
	return p.imgs, p.err
}

// maxConfigBytes bounds an image config read ahead of its manifest.
const maxConfigBytes = 4 << 20

// platformImages reads the image ref names ("repo@sha256:…"): the image
// itself, or every platform image of an index (attestation manifests left
// out). When config is not empty the config blob is read while the
// manifest is, and used when the manifest names it.
func (b *Builder) platformImages(ctx context.Context, ref string, config hallmark.Digest) ([]v1.Image, error) {
	r, err := b.opts.registry.ParseDigest(ref)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	var early chan []byte
	if config != "" {
		early = make(chan []byte, 1)
		go func() {
			raw, err := registry.ReadBlob(ctx, r.Context().Digest(config.String()), -1, maxConfigBytes, b.opts.registry.RemoteOptions(ctx)...)
			if err != nil {
				raw = nil // read again through the manifest, which reports the error
			}
			early <- raw
		}()
	}
	desc, err := remote.Get(r, b.opts.registry.RemoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w", ref, registry.Error(ctx, err))
	}
	b.manifests.Put(r.String(), rawManifest{raw: desc.Manifest, mediaType: desc.MediaType})
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("read image %s: %w", ref, err)
		}
		if early != nil {
			img = withConfig(img, config, <-early)
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

// withConfig returns img with its config answered from raw, read ahead
// under digest, when img's manifest names that digest and size; else img
// itself.
func withConfig(img v1.Image, digest hallmark.Digest, raw []byte) v1.Image {
	if raw == nil {
		return img
	}
	m, err := img.Manifest()
	if err != nil || m.Config.Digest.String() != digest.String() || m.Config.Size != int64(len(raw)) {
		return img
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return img
	}
	return &configured{Image: img, raw: raw, cf: cf}
}

// configured is an image whose config was read ahead (withConfig).
type configured struct {
	v1.Image
	raw []byte
	cf  *v1.ConfigFile
}

func (c *configured) RawConfigFile() ([]byte, error)      { return c.raw, nil }
func (c *configured) ConfigFile() (*v1.ConfigFile, error) { return c.cf.DeepCopy(), nil }
