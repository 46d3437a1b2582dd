package secretscan

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/glob"
)

// Scanner scans images for secrets. Its methods are safe for concurrent
// use.
type Scanner struct {
	opts   options
	layers *layerCache
	budget int64 // content bytes per scan: maxScanBytes, less in tests
}

// Option configures a Scanner.
type Option func(*options) error

type options struct {
	allow   []glob.Pattern
	readErr func(ctx context.Context, err error) error
}

// WithAllowPaths lets the scan accept findings at paths that match one of
// patterns: absolute paths in the image ("/etc/ssl/private/*",
// "/app/**/fixtures/**"; a leading "/" is implied), or "env:NAME" and
// "label:KEY" for the image's environment and labels. Patterns are of
// internal/glob's dialect; the error for a bad pattern names its index.
// Accepted findings become warnings. The default is none.
func WithAllowPaths(patterns ...string) Option {
	return func(o *options) error {
		norm := make([]string, len(patterns))
		for i, p := range patterns {
			norm[i] = normalizeAllowPath(p)
		}
		g, err := glob.CompileAll("secret scan allow path", norm)
		if err != nil {
			return err
		}
		o.allow = append(o.allow, g...)
		return nil
	}
}

// normalizeAllowPath adds the implied leading "/" to a path pattern.
func normalizeAllowPath(p string) string {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "env:") || strings.HasPrefix(p, "label:") {
		return p
	}
	return "/" + p
}

// WithReadErrors sets a function that wraps each error from reading an
// image's config, layer list or layer contents, such as registry.Error,
// which classifies the errors of images read from a registry. The default
// returns them as they are.
func WithReadErrors(f func(ctx context.Context, err error) error) Option {
	return func(o *options) error {
		if f == nil {
			return fmt.Errorf("%w: read error function is nil", hallmark.ErrInvalid)
		}
		o.readErr = f
		return nil
	}
}

// New returns a Scanner.
func New(opts ...Option) (*Scanner, error) {
	o := options{readErr: func(_ context.Context, err error) error { return err }}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Scanner{opts: o, layers: newLayerCache(), budget: maxScanBytes}, nil
}

// Scan scans what a build added to an image for secrets. imgs are the
// image's platform images; base are those of the runtime base it was built
// on, nil for scratch. It reads every file of the layers each image adds on
// top of base's, and the environment variables and labels it adds to
// base's. Findings the allowlist accepts, and a scan cut short by its
// budget, become warnings; any other finding gives a *FindingsError, which
// wraps hallmark.ErrInvalid and names the path or key and the rule, never
// the secret. Other errors are failures to read the images.
//
// A layer is identified by its uncompressed digest, and what the rules find
// in it depends on nothing else: the Scanner remembers the findings of the
// last layers it read in full (findings, not verdicts: the allowlist is
// applied to every image) and does not read them again.
func (s *Scanner) Scan(ctx context.Context, imgs, base []v1.Image) ([]string, error) {
	baseLayers := map[v1.Hash]bool{}
	baseEnv := map[string]bool{}
	baseLabels := map[string]string{}
	for _, img := range base {
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("scan for secrets: read runtime base config: %w", s.opts.readErr(ctx, err))
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
	sc := newScan()
	sc.budget = s.budget
	scanned := map[v1.Hash]bool{}
	for _, img := range imgs {
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("scan for secrets: read image config: %w", s.opts.readErr(ctx, err))
		}
		layers, err := img.Layers()
		if err != nil {
			return nil, fmt.Errorf("scan for secrets: read image layers: %w", s.opts.readErr(ctx, err))
		}
		inBase := true
		for i, l := range layers {
			id, err := l.DiffID()
			if err != nil {
				return nil, fmt.Errorf("scan for secrets: read layer %d: %w", i+1, s.opts.readErr(ctx, err))
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
			if found, ok := s.layers.get(id); ok {
				sc.add(found, i+1)
				continue
			}
			before, exhausted := len(sc.findings), sc.exhausted
			if err := s.scanLayer(ctx, sc, l, i+1); err != nil {
				return nil, err
			}
			if exhausted == "" && sc.exhausted == "" { // read in full, within the budget: the result is the layer's own
				s.layers.put(id, sc.findings[before:])
			}
		}
		sc.scanConfig(cfg.Config.Env, cfg.Config.Labels, baseEnv, baseLabels)
	}
	return sc.verdict(s.opts.allow)
}

func (s *Scanner) scanLayer(ctx context.Context, sc *scan, l v1.Layer, index int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", hallmark.ErrCanceled, context.Cause(ctx))
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("scan for secrets: fetch layer %d: %w", index, s.opts.readErr(ctx, err))
	}
	defer rc.Close()
	if err := sc.scanLayer(rc, index); err != nil {
		return fmt.Errorf("scan for secrets: %w", s.opts.readErr(ctx, err))
	}
	return nil
}
