package builder

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/contextstore"
	"github.com/hallmark-dev/hallmark/builder/pool"
	"github.com/hallmark-dev/hallmark/builder/secretscan"
	"github.com/hallmark-dev/hallmark/internal/bounded"
	"github.com/hallmark-dev/hallmark/internal/glob"
	"github.com/hallmark-dev/hallmark/registry"
)

// ContextStore holds the uploaded build contexts a Builder builds from
// (contextstore.Store).
type ContextStore interface {
	// Use marks the context as used by a build of owner until release;
	// the error wraps hallmark.ErrNotFound if owner does not hold it.
	Use(owner hallmark.Identity, d hallmark.Digest) (release func(), err error)
	// ReadFile reads one file from the stored archive as extraction would
	// lay it out, without extracting.
	ReadFile(ctx context.Context, d hallmark.Digest, name string, max int64) ([]byte, error)
	// Extract extracts the archive into dest.
	Extract(ctx context.Context, d hallmark.Digest, dest string) error
}

var _ ContextStore = (*contextstore.Store)(nil)

// Builder runs builds on a pool of BuildKit daemons (workers), each build on
// the worker its cache scope hashes to (builder/pool), at most a configured
// number at a time on each; the others wait in the worker's first-come,
// first-served queue.
type Builder struct {
	contexts ContextStore
	resolver *Resolver
	pool     *pool.Pool
	conns    *conns
	// pingWorker, if set, replaces the ping of a worker before a build
	// (tests).
	pingWorker func(ctx context.Context, addr string) error
	stop       context.CancelFunc // ends the health checks and discovery
	background sync.WaitGroup     // they run here
	secrets    *secretscan.Scanner
	// baseConfigs are the configs of runtime bases, for the secret scan.
	baseConfigs *configCache
	// manifests are those of images read by digest lately, for moving tags.
	manifests *bounded.Map[string, rawManifest]
	// checked are the findings of the checks after a solve on images
	// that passed them (checkPushed).
	checked *bounded.Map[string, checked]
	opts    options
}

// Option configures a Builder.
type Option func(*options) error

type options struct {
	logger      *slog.Logger
	maxParallel int
	maxQueued   int
	workDir     string
	registry    *registry.Client
	pingTimeout time.Duration
	onQueue     func(waiting, running int64)
	onWorker    func(WorkerStats)
	health      []pool.Option
	// discover finds workers every discoverEvery (WithDiscovery).
	discover      func(ctx context.Context) ([]string, error)
	discoverEvery time.Duration
	allowRoot     bool
	baseMode      BaseMode
	baseAllow     []glob.Pattern
	secretScan    []secretscan.Option
	noSecretScan  bool
	baseVerifier  BaseVerifier
	frontends     []allowedFrontend
}

// WithLogger sets the logger; nil is an error (hallmark.ErrInvalid). The
// default discards logs.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		return hallmark.SetLogger(&o.logger, l)
	}
}

// WithMaxParallel sets how many builds run at once on each worker; the rest
// queue in arrival order. The default is 2.
func WithMaxParallel(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("max parallel builds must be at least 1, got %d", n)
		}
		o.maxParallel = n
		return nil
	}
}

// WithMaxQueued bounds how many builds may wait for a slot of each worker;
// one more fails
// at once with an error wrapping hallmark.ErrTooLarge (RESOURCE_EXHAUSTED),
// so that no caller can make the gateway hold unbounded waiting work. The
// default is 0: no bound.
func WithMaxQueued(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("%w: max queued builds %d is negative", hallmark.ErrInvalid, n)
		}
		o.maxQueued = n
		return nil
	}
}

// WithWorkDir sets where contexts are extracted for a build. The default is
// a directory under os.TempDir().
func WithWorkDir(dir string) Option {
	return func(o *options) error { o.workDir = dir; return nil }
}

// WithRegistry sets the registry client for resolving bases, pushing and
// tagging; BuildKit's pulls and pushes get its credentials and insecure
// hosts too. The default is a client with anonymous access and no insecure
// hosts.
func WithRegistry(c *registry.Client) Option {
	return func(o *options) error {
		if c == nil {
			return fmt.Errorf("%w: registry client is nil", hallmark.ErrInvalid)
		}
		o.registry = c
		return nil
	}
}

// WithQueueObserver sets a function called whenever the number of waiting or
// running builds changes, with the sums over all workers, for metrics
// (WithWorkerObserver has each worker's). The default is none.
func WithQueueObserver(f func(waiting, running int64)) Option {
	return func(o *options) error { o.onQueue = f; return nil }
}

// WithPingTimeout bounds how long a build waits to reach BuildKit before
// failing as unavailable. The default is 10s.
func WithPingTimeout(d time.Duration) Option {
	return func(o *options) error { o.pingTimeout = d; return nil }
}

// New returns a Builder for the BuildKit daemons at workers (each
// unix:///run/buildkit/buildkitd.sock or tcp://host:port), reading uploaded
// contexts from contexts. It starts the workers' health checks; Close
// ends them.
func New(workers []string, contexts ContextStore, opts ...Option) (*Builder, error) {
	o := options{
		logger:      slog.New(slog.DiscardHandler),
		maxParallel: 2,
		workDir:     "",
		pingTimeout: 10 * time.Second,
		baseMode:    BasePin,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	secrets, err := secretscan.New(append(o.secretScan, secretscan.WithReadErrors(registry.Error))...)
	if err != nil {
		return nil, err
	}
	if len(workers) == 0 && o.discover == nil {
		return nil, errors.New("no buildkit worker")
	}
	if contexts == nil {
		return nil, errors.New("context store is nil")
	}
	o.workDir = cmp.Or(o.workDir, os.TempDir())
	if err := os.MkdirAll(o.workDir, 0o700); err != nil {
		return nil, fmt.Errorf("create work dir: %w", err)
	}
	if o.registry == nil {
		if o.registry, err = registry.New(); err != nil {
			return nil, err
		}
	}
	res, err := NewResolver(o.registry)
	if err != nil {
		return nil, err
	}
	res.found = bounded.New[string, hallmark.ResolvedBase](maxFoundPins)
	b := &Builder{contexts: contexts, resolver: res, secrets: secrets, baseConfigs: newConfigCache(), manifests: newManifestCache(), checked: newCheckCache(), opts: o,
		conns: newConns()}
	if err := b.newPool(workers); err != nil {
		_ = b.conns.closeAll()
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	b.stop = stop
	if o.discover != nil {
		b.discover(ctx, workers)
		b.background.Go(func() { b.discoverEvery(ctx, workers) })
	}
	b.background.Go(func() { b.pool.Run(ctx) })
	return b, nil
}

// Close ends the health checks and discovery, and releases the connections
// to BuildKit.
func (b *Builder) Close() error {
	b.stop()
	b.background.Wait()
	return b.conns.closeAll()
}
