package registrytest

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/registry"
)

// Registry is a running in-process registry. Every request it serves is
// counted and goes through the hook first, if one is set; the Push
// methods write past both.
type Registry struct {
	// Host is "127.0.0.1:port".
	Host string
	// pushHost serves the registry without the hook and the count.
	pushHost string
	handler  http.Handler
	requests atomic.Int64
	hook     atomic.Pointer[Hook]
}

// Hook sees every request before the registry does; returning true means
// it has answered the request itself.
type Hook func(w http.ResponseWriter, r *http.Request) bool

// Option configures a Registry.
type Option func(*options) error

type options struct {
	referrers bool
}

// WithReferrersAPI says whether the registry serves the OCI referrers API;
// without it, clients fall back to the "sha256-<hex>" tag. The default is
// true.
func WithReferrersAPI(on bool) Option {
	return func(o *options) error { o.referrers = on; return nil }
}

// New starts a registry that stops when t ends.
func New(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	o := options{referrers: true}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			t.Fatal(err)
		}
	}
	r := &Registry{handler: ggcrregistry.New(ggcrregistry.WithReferrersSupport(o.referrers), ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		if h := r.hook.Load(); h != nil && (*h)(w, req) {
			return
		}
		r.handler.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	push := httptest.NewServer(r.handler)
	t.Cleanup(push.Close)
	r.pushHost = strings.TrimPrefix(push.URL, "http://")
	return r
}

// SetHook makes h see every request from now on; nil removes the hook.
func (r *Registry) SetHook(h Hook) {
	if h == nil {
		r.hook.Store(nil)
		return
	}
	r.hook.Store(&h)
}

// Requests counts the requests served so far (not the Push methods').
func (r *Registry) Requests() int64 { return r.requests.Load() }

// Handler is the registry itself, without the hook and the count: a hook
// may pass requests on to it.
func (r *Registry) Handler() http.Handler { return r.handler }

// Client returns a registry client that tries each request once (so that
// tests of failures are quick), then configured by opts.
func Client(t testing.TB, opts ...registry.Option) *registry.Client {
	t.Helper()
	c, err := registry.New(append([]registry.Option{registry.WithRetryBackoff(remote.Backoff{Steps: 1})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Push writes an image or index to repo ("team/app") in the registry, and
// tags it when tag is not "", past the hook; it returns the image by
// digest with its descriptor.
func (r *Registry) Push(t testing.TB, repo, tag string, img remote.Taggable) (name.Digest, v1.Descriptor) {
	t.Helper()
	desc, err := describe(img)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := name.NewDigest(r.pushHost + "/" + repo + "@" + desc.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	var target name.Reference = direct
	if tag != "" {
		target = direct.Context().Tag(tag)
	}
	switch w := img.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(target, w, remote.WithContext(t.Context()))
	case v1.Image:
		err = remote.Write(target, w, remote.WithContext(t.Context()))
	default:
		err = remote.Put(target, w, remote.WithContext(t.Context()))
	}
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewDigest(r.Host + "/" + repo + "@" + desc.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	return ref, desc
}

// PushRandom pushes a random image of one 512-byte layer as repo:tag (not
// tagged when tag is "") like Push.
func (r *Registry) PushRandom(t testing.TB, repo, tag string) (name.Digest, v1.Descriptor) {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	return r.Push(t, repo, tag, img)
}

// withMediaType is an image, an index or a manifest that knows its media
// type.
type withMediaType interface {
	MediaType() (types.MediaType, error)
}

// describe returns the descriptor of an image, an index or a raw manifest.
func describe(w remote.Taggable) (v1.Descriptor, error) {
	raw, err := w.RawManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return v1.Descriptor{}, err
	}
	desc := v1.Descriptor{Digest: h, Size: size}
	if m, ok := w.(withMediaType); ok {
		if desc.MediaType, err = m.MediaType(); err != nil {
			return v1.Descriptor{}, err
		}
	}
	return desc, nil
}
