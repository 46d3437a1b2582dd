package registry

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Client reaches OCI registries with one set of credentials, insecure hosts
// and transport. It is safe for concurrent use.
type Client struct {
	keychain authn.Keychain
	insecure map[string]bool
	// remote are the options every call starts from: credentials,
	// transport, user agent, retries.
	remote []remote.Option
	// puller and pusher keep one authenticated transport per repository
	// across calls.
	puller *remote.Puller
	pusher *remote.Pusher
}

// Option configures a Client.
type Option func(*options) error

type options struct {
	keychain  authn.Keychain
	insecure  []string
	transport http.RoundTripper
	userAgent string
	backoff   *remote.Backoff
}

// WithKeychain sets where registry credentials come from: a Keychain of
// static credentials per host, authn.DefaultKeychain (the Docker config of
// the process), or any other authn.Keychain. The default is anonymous
// access.
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error {
		if k == nil {
			return fmt.Errorf("%w: keychain is nil", hallmark.ErrInvalid)
		}
		o.keychain = k
		return nil
	}
}

// WithInsecureHosts names registries ("host" or "host:port") spoken to over
// plain HTTP. Registries on localhost, loopback and private addresses
// already are, by go-containerregistry's own rule. The default is none.
func WithInsecureHosts(hosts ...string) Option {
	return func(o *options) error {
		o.insecure = append(o.insecure, hosts...)
		return nil
	}
}

// WithTransport sets the HTTP transport used to reach registries. The
// default is remote.DefaultTransport.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) error {
		if t == nil {
			return fmt.Errorf("%w: transport is nil", hallmark.ErrInvalid)
		}
		o.transport = t
		return nil
	}
}

// WithUserAgent sets the User-Agent of registry requests, before
// go-containerregistry's own. The default is go-containerregistry's alone.
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		o.userAgent = ua
		return nil
	}
}

// WithRetryBackoff sets how failed requests are retried (Steps: 1 tries
// once). The default is go-containerregistry's: three tries.
func WithRetryBackoff(b remote.Backoff) Option {
	return func(o *options) error {
		if b.Steps < 1 {
			return fmt.Errorf("%w: retry backoff has %d steps, want at least 1", hallmark.ErrInvalid, b.Steps)
		}
		o.backoff = &b
		return nil
	}
}

// New returns a Client. Its requests follow at most MaxRedirects redirects,
// and read manifests within the limit of WithManifestLimit. Errors wrap hallmark.ErrInvalid for a bad option,
// such as an insecure host that is not "host[:port]".
func New(opts ...Option) (*Client, error) {
	o := options{keychain: authn.NewMultiKeychain(), transport: remote.DefaultTransport}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("new registry client: %w", err)
		}
	}
	c := &Client{keychain: o.keychain, insecure: map[string]bool{}}
	for _, h := range o.insecure {
		reg, err := name.NewRegistry(h)
		if err != nil {
			return nil, fmt.Errorf("new registry client: %w: insecure registry %q: %w", hallmark.ErrInvalid, h, err)
		}
		c.insecure[reg.RegistryStr()] = true
	}
	c.remote = []remote.Option{remote.WithAuthFromKeychain(o.keychain), remote.WithTransport(boundedTransport{inner: o.transport})}
	if o.userAgent != "" {
		c.remote = append(c.remote, remote.WithUserAgent(o.userAgent))
	}
	if o.backoff != nil {
		c.remote = append(c.remote, remote.WithRetryBackoff(*o.backoff))
	}
	var err error
	if c.puller, err = remote.NewPuller(c.remote...); err != nil {
		return nil, fmt.Errorf("new registry client: %w", err)
	}
	if c.pusher, err = remote.NewPusher(c.remote...); err != nil {
		return nil, fmt.Errorf("new registry client: %w", err)
	}
	return c, nil
}

// RemoteOptions are the options of a go-containerregistry call (remote.Get,
// remote.Write, remote.Referrers, …) made under ctx: the client's
// credentials, transport and retries, and its shared Puller and Pusher.
func (c *Client) RemoteOptions(ctx context.Context) []remote.Option {
	return append(slices.Clip(c.remote), remote.WithContext(ctx), remote.Reuse(c.puller), remote.Reuse(c.pusher))
}
