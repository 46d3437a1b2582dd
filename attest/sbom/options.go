package sbom

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/hallmark-dev/hallmark"
)

// Default limits. Every byte Generate reads comes from an image that nobody
// has vetted yet, so each read is bounded.
const (
	// DefaultMaxDocumentBytes bounds the SPDX JSON of one document.
	DefaultMaxDocumentBytes = 16 << 20
	// DefaultMaxLayerBytes bounds the uncompressed tar stream of one layer.
	DefaultMaxLayerBytes = 8 << 30
	// DefaultMaxFileBytes bounds one package database file (dpkg status, apk
	// installed, rpm database, os-release).
	DefaultMaxFileBytes = 256 << 20
	// DefaultMaxBinaryBytes bounds an executable inspected for Go build
	// information; larger executables are reported in the warnings.
	DefaultMaxBinaryBytes = 512 << 20
	// DefaultMaxEntries bounds the number of tar entries over all layers.
	DefaultMaxEntries = 4_000_000
)

// Option configures Generate.
type Option func(*options) error

type options struct {
	imageName      string
	created        time.Time
	toolVersion    string
	maxDocBytes    int64
	maxLayerBytes  int64
	maxFileBytes   int64
	maxBinaryBytes int64
	maxEntries     int
	tempDir        string
	base           *Document
	baseLayers     int
	logger         *slog.Logger
}

func defaults() options {
	return options{
		toolVersion:    moduleVersion(),
		maxDocBytes:    DefaultMaxDocumentBytes,
		maxLayerBytes:  DefaultMaxLayerBytes,
		maxFileBytes:   DefaultMaxFileBytes,
		maxBinaryBytes: DefaultMaxBinaryBytes,
		maxEntries:     DefaultMaxEntries,
		logger:         slog.New(slog.DiscardHandler),
	}
}

// WithImageName names the image, "registry/repository" optionally followed
// by ":tag" or "@sha256:…". It becomes the document and root package name
// and the repository_url of the image's purl. The default is the manifest
// digest as the name and no repository_url.
func WithImageName(name string) Option {
	return func(o *options) error {
		if len(name) > 1024 {
			return fmt.Errorf("%w: image name longer than 1024 bytes", hallmark.ErrInvalid)
		}
		o.imageName = name
		return nil
	}
}

// WithCreated sets the document's creation time, which is also the date of
// its annotations; fixed times make documents reproducible. The default is
// the image config's Created time, or the current time when that is unset.
func WithCreated(t time.Time) Option {
	return func(o *options) error {
		o.created = t
		return nil
	}
}

// WithToolVersion sets the Hallmark version written into the creator
// ("Tool: hallmark-<version>") and the document namespace. The default is
// the version of the hallmark module in the running binary's build
// information, or "devel".
func WithToolVersion(v string) Option {
	return func(o *options) error {
		if v == "" || len(v) > 128 {
			return fmt.Errorf("%w: tool version must be 1 to 128 bytes", hallmark.ErrInvalid)
		}
		o.toolVersion = v
		return nil
	}
}

// WithMaxDocumentBytes bounds the size of the SPDX JSON. Over the limit,
// the per-package evidence annotations are dropped first (the document
// comment says so); if the document is still too large, Generate fails with
// an error wrapping hallmark.ErrTooLarge. Packages are never dropped. The
// default is DefaultMaxDocumentBytes (16 MiB).
func WithMaxDocumentBytes(n int64) Option {
	return positive(n, "max document bytes", func(o *options) { o.maxDocBytes = n })
}

// WithMaxLayerBytes bounds the uncompressed size of each layer; a larger
// layer fails Generate with an error wrapping hallmark.ErrTooLarge. The
// default is DefaultMaxLayerBytes (8 GiB).
func WithMaxLayerBytes(n int64) Option {
	return positive(n, "max layer bytes", func(o *options) { o.maxLayerBytes = n })
}

// WithMaxFileBytes bounds each package database file that a cataloger
// reads; a larger one is skipped and named in the document's warnings. The
// default is DefaultMaxFileBytes (256 MiB).
func WithMaxFileBytes(n int64) Option {
	return positive(n, "max file bytes", func(o *options) { o.maxFileBytes = n })
}

// WithMaxBinaryBytes bounds the executables inspected for Go build
// information; larger ones are skipped and named in the warnings. The
// default is DefaultMaxBinaryBytes (512 MiB).
func WithMaxBinaryBytes(n int64) Option {
	return positive(n, "max binary bytes", func(o *options) { o.maxBinaryBytes = n })
}

// WithMaxEntries bounds the number of tar entries read over all layers; an
// image with more fails Generate with an error wrapping hallmark.ErrTooLarge.
// The default is DefaultMaxEntries (4 million).
func WithMaxEntries(n int) Option {
	return positive(int64(n), "max entries", func(o *options) { o.maxEntries = n })
}

// WithTempDir sets the directory where RPM databases are copied to be
// opened (SQLite needs a file). The default is os.TempDir().
func WithTempDir(dir string) Option {
	return func(o *options) error {
		o.tempDir = dir
		return nil
	}
}

// WithBaseSBOM reuses the verified SBOM of the image's base: when the first
// baseLayers layers of the image are exactly the layers that doc describes,
// only the layers after them are read, doc's packages are copied (each says
// "from verified base SBOM <digest>" in its comment) and those whose
// evidence files the new layers delete or replace are dropped. If the layers
// differ, or doc lacks evidence, the whole image is cataloged and a warning
// says why. The caller must have verified doc's signature. The default is
// to catalog every layer.
func WithBaseSBOM(doc *Document, baseLayers int) Option {
	return func(o *options) error {
		if doc == nil || baseLayers < 1 {
			return fmt.Errorf("%w: base SBOM needs a document and at least one layer", hallmark.ErrInvalid)
		}
		o.base, o.baseLayers = doc, baseLayers
		return nil
	}
}

// WithLogger sets the logger for progress and skipped files; nil is an
// error (hallmark.ErrInvalid). The default discards all records.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		return hallmark.SetLogger(&o.logger, l)
	}
}

func positive(n int64, what string, set func(*options)) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("%w: %s must be positive, got %d", hallmark.ErrInvalid, what, n)
		}
		set(o)
		return nil
	}
}

// moduleVersion is the version of the hallmark module in this binary.
func moduleVersion() string {
	const path = "github.com/hallmark-dev/hallmark"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Path == path && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == path && d.Version != "" {
			return d.Version
		}
	}
	return "devel"
}
