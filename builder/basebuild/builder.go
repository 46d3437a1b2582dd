package basebuild

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/debian"
	"github.com/hallmark-dev/hallmark/registry"
)

// Builder builds base images from BaseImage specs and pushes them by
// digest. Its methods are safe for concurrent use.
type Builder struct {
	registry *registry.Client
	apt      *debian.Apt
	debs     *debian.Fetcher
	opts     options
}

// Option configures a Builder.
type Option func(*options) error

type options struct {
	logger   *slog.Logger
	workDir  string
	debCache string
}

// WithLogger sets the logger; nil is an error (hallmark.ErrInvalid). The
// default discards logs.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		return hallmark.SetLogger(&o.logger, l)
	}
}

// WithWorkDir sets where base builds keep apt's package lists (<work
// dir>/apt) and unpack images. The default is os.TempDir().
func WithWorkDir(dir string) Option {
	return func(o *options) error { o.workDir = dir; return nil }
}

// WithDebianCache sets the directory where base builds cache the .deb
// files they download, by sha256. The default is <work dir>/debs.
func WithDebianCache(dir string) Option {
	return func(o *options) error { o.debCache = dir; return nil }
}

// New returns a Builder that pushes with reg, the registry client whose
// credentials and insecure hosts apply.
func New(reg *registry.Client, opts ...Option) (*Builder, error) {
	o := options{logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if reg == nil {
		return nil, fmt.Errorf("%w: registry client is nil", hallmark.ErrInvalid)
	}
	if o.workDir == "" {
		o.workDir = os.TempDir()
	}
	if err := os.MkdirAll(o.workDir, 0o700); err != nil {
		return nil, fmt.Errorf("create work dir: %w", err)
	}
	if o.debCache == "" {
		o.debCache = filepath.Join(o.workDir, "debs")
	}
	apt, err := debian.NewApt(debian.WithStateDir(filepath.Join(o.workDir, "apt")), debian.WithAptLogger(o.logger))
	if err != nil {
		return nil, err
	}
	debs, err := debian.NewFetcher(o.debCache, debian.WithFetchLogger(o.logger))
	if err != nil {
		return nil, fmt.Errorf("create deb cache: %w", err)
	}
	return &Builder{registry: reg, apt: apt, debs: debs, opts: o}, nil
}
