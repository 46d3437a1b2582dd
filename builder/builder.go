package builder

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	"golang.org/x/sync/semaphore"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/debian"
	"github.com/hallmark-dev/hallmark/internal/glob"
)

// Builder runs builds on one BuildKit daemon, at most a configured number at
// a time; the others wait in a first-come, first-served queue.
type Builder struct {
	addr     string
	contexts *ContextStore
	resolver *Resolver
	sem      *semaphore.Weighted
	pusher   *remote.Pusher // reused across builds for tag moves
	bk       *client.Client // one connection to buildkitd, shared by builds
	apt      *debian.Apt    // base builds
	debs     *debian.Fetcher
	waiting  atomic.Int64
	running  atomic.Int64
	opts     options
}

// Option configures a Builder.
type Option func(*options) error

type options struct {
	logger       *slog.Logger
	maxParallel  int64
	workDir      string
	registries   map[string]RegistryAuth
	insecure     []string
	pingTimeout  time.Duration
	onQueue      func(waiting, running int64)
	allowRoot    bool
	baseMode     BaseMode
	baseAllow    []glob.Pattern
	secretAllow  []glob.Pattern
	noSecretScan bool
	baseVerifier BaseVerifier
	debCache     string
}

// RegistryAuth is a credential for one registry host.
type RegistryAuth struct {
	Username string
	Password string
}

// String hides the password.
func (a RegistryAuth) String() string { return "auth(" + a.Username + ")" }

// WithLogger sets the logger. The default discards logs.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { o.logger = l; return nil }
}

// WithMaxParallel sets how many builds run at once; the rest queue in
// arrival order. The default is 2.
func WithMaxParallel(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("max parallel builds must be at least 1, got %d", n)
		}
		o.maxParallel = int64(n)
		return nil
	}
}

// WithWorkDir sets where contexts are extracted for a build. The default is
// a directory under os.TempDir().
func WithWorkDir(dir string) Option {
	return func(o *options) error { o.workDir = dir; return nil }
}

// WithRegistryAuth sets credentials for registry hosts (for resolving bases,
// BuildKit's pulls and pushes, and tagging). The default is none: anonymous.
func WithRegistryAuth(m map[string]RegistryAuth) Option {
	return func(o *options) error { o.registries = m; return nil }
}

// WithInsecureRegistries names registry hosts spoken to over plain HTTP,
// such as "127.0.0.1:5000", for resolving, pushing and tagging. The default
// is none.
func WithInsecureRegistries(hosts ...string) Option {
	return func(o *options) error { o.insecure = append(o.insecure, hosts...); return nil }
}

// WithQueueObserver sets a function called whenever the number of waiting or
// running builds changes, for metrics. The default is none.
func WithQueueObserver(f func(waiting, running int64)) Option {
	return func(o *options) error { o.onQueue = f; return nil }
}

// WithPingTimeout bounds how long a build waits to reach BuildKit before
// failing as unavailable. The default is 10s.
func WithPingTimeout(d time.Duration) Option {
	return func(o *options) error { o.pingTimeout = d; return nil }
}

// New returns a Builder for the BuildKit daemon at addr
// (unix:///run/buildkit/buildkitd.sock, tcp://host:port), reading uploaded
// contexts from contexts.
func New(addr string, contexts *ContextStore, opts ...Option) (*Builder, error) {
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
	if addr == "" {
		return nil, errors.New("buildkit address is empty")
	}
	if contexts == nil {
		return nil, errors.New("context store is nil")
	}
	o.workDir = cmp.Or(o.workDir, os.TempDir())
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
	res, err := NewResolver(WithKeychain(o.keychain()), WithResolverInsecureRegistries(o.insecure...))
	if err != nil {
		return nil, err
	}
	pusher, err := remote.NewPusher(remote.WithAuthFromKeychain(o.keychain()))
	if err != nil {
		return nil, fmt.Errorf("create registry client: %w", err)
	}
	// client.New dials lazily and reconnects, so a daemon that starts after
	// the gateway is found by the first build.
	bk, err := client.New(context.Background(), addr)
	if err != nil {
		return nil, fmt.Errorf("%w: connect to buildkit at %s: %w", hallmark.ErrUnavailable, addr, err)
	}
	b := &Builder{addr: addr, contexts: contexts, resolver: res, sem: semaphore.NewWeighted(o.maxParallel), opts: o, pusher: pusher, bk: bk, apt: apt, debs: debs}
	return b, nil
}

// Close releases the connection to BuildKit.
func (b *Builder) Close() error { return b.bk.Close() }

// keychain serves the configured credentials, falling back to anonymous.
func (o options) keychain() authn.Keychain { return Keychain(o.registries) }

// Keychain serves registry credentials by host to go-containerregistry,
// falling back to anonymous access. The gateway gives the same credentials
// to BuildKit, the attester and the verifier through it.
type Keychain map[string]RegistryAuth

var _ authn.Keychain = Keychain(nil)

// Resolve returns the credential for r's registry host.
func (k Keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	a, ok := k[r.RegistryStr()]
	if !ok {
		return authn.Anonymous, nil
	}
	return &authn.Basic{Username: a.Username, Password: a.Password}, nil
}

func (b *Builder) isInsecure(host string) bool {
	for _, h := range b.opts.insecure {
		if h == host {
			return true
		}
	}
	return false
}

func (b *Builder) observeQueue() {
	if b.opts.onQueue != nil {
		b.opts.onQueue(b.waiting.Load(), b.running.Load())
	}
}
