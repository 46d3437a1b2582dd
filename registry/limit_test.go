package registry_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

// TestManifestLimit: under WithManifestLimit, a manifest or referrers
// response declared at 4 GiB is refused before its body is read, and an
// endless one is cut off at the limit (go-containerregistry alone reads
// up to 100 MiB of either); both are ErrTooLarge, with bounded memory. A
// manifest of exactly the limit is read.
func TestManifestLimit(t *testing.T) {
	reg := registrytest.New(t)
	subject, desc := reg.PushRandom(t, "app", "v1")
	c := registrytest.Client(t)
	const limit = 64 << 10
	manifest := func(ctx context.Context) error {
		_, err := remote.Get(subject, c.RemoteOptions(ctx)...)
		return err
	}
	referrers := func(ctx context.Context) error {
		_, err := remote.Referrers(subject, c.RemoteOptions(ctx)...)
		return err
	}
	tests := []struct {
		name string
		call func(context.Context) error
		path string
		hook func(w http.ResponseWriter)
		want error
	}{
		{"manifest declared 4 GiB", manifest, "/manifests/", func(w http.ResponseWriter) {
			registrytest.Huge(w, string(types.OCIManifestSchema1), 4<<30)
		}, hallmark.ErrTooLarge},
		{"endless manifest", manifest, "/manifests/", func(w http.ResponseWriter) {
			registrytest.Endless(w, string(types.OCIManifestSchema1), 1<<30)
		}, hallmark.ErrTooLarge},
		{"referrers declared 4 GiB", referrers, "/referrers/", func(w http.ResponseWriter) {
			registrytest.Huge(w, string(types.OCIImageIndex), 4<<30)
		}, hallmark.ErrTooLarge},
		{"endless referrers", referrers, "/referrers/", func(w http.ResponseWriter) {
			registrytest.Endless(w, string(types.OCIImageIndex), 1<<30)
		}, hallmark.ErrTooLarge},
		{"manifest within the limit", manifest, "/manifests/", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
				if tt.hook == nil || !strings.Contains(r.URL.Path, tt.path) {
					return false
				}
				tt.hook(w)
				return true
			})
			defer reg.SetHook(nil)
			ctx := registry.WithManifestLimit(t.Context(), limit)
			var err error
			alloc := registrytest.Allocated(func() { err = registry.Error(ctx, tt.call(ctx)) })
			t.Logf("allocated %d KiB", alloc>>10)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("call = %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				if !errors.Is(registry.Class(ctx, err), hallmark.ErrTooLarge) || !strings.Contains(err.Error(), "65536-byte limit") {
					t.Errorf("error %q (class %v) does not say the limit", err, registry.Class(ctx, err))
				}
				var tl *registry.TooLargeError
				if !errors.As(err, &tl) || tl.Limit != limit {
					t.Errorf("error %v is not a *TooLargeError of the limit", err)
				}
			}
			// Loose: the whole process, the registry's writes included.
			if alloc > 16<<20 {
				t.Errorf("the call allocated %d MiB; want a bound near the 64 KiB limit", alloc>>20)
			}
		})
	}
	t.Run("exactly the limit", func(t *testing.T) {
		ctx := registry.WithManifestLimit(t.Context(), desc.Size)
		if err := manifest(ctx); err != nil {
			t.Fatalf("a manifest of exactly the limit: %v", err)
		}
		ctx = registry.WithManifestLimit(t.Context(), desc.Size-1)
		if err := manifest(ctx); !errors.Is(err, hallmark.ErrTooLarge) {
			t.Fatalf("a manifest one byte over the limit: %v, want ErrTooLarge", err)
		}
	})
}

// TestRedirects: a registry that redirects a blob in a loop is given up
// on after registry.MaxRedirects hops (go-containerregistry's own redirect
// check has no limit); a blob redirected to another host is read, and that
// host never sees the registry's credentials.
func TestRedirects(t *testing.T) {
	reg := registrytest.New(t)
	subject, _ := reg.PushRandom(t, "app", "v1")
	m := manifestOf(t, subject.String())
	layer := m.Layers[0]
	blob := subject.Context().Digest(layer.Digest.String())
	auth := func(w http.ResponseWriter, r *http.Request) bool {
		if u, p, ok := r.BasicAuth(); !ok || u != "ci" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return true
		}
		return false
	}
	c := registrytest.Client(t, registry.WithKeychain(registry.Keychain{reg.Host: {Username: "ci", Password: "s3cret"}}))

	t.Run("loop", func(t *testing.T) {
		var hops atomic.Int64
		reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
			if auth(w, r) {
				return true
			}
			if !strings.Contains(r.URL.Path, "/blobs/") {
				return false
			}
			hops.Add(1)
			http.Redirect(w, r, r.URL.Path+"?hop="+time.Now().Format(time.RFC3339Nano), http.StatusTemporaryRedirect)
			return true
		})
		defer reg.SetHook(nil)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		_, err := registry.ReadBlob(ctx, blob, layer.Size, 1<<20, c.RemoteOptions(ctx)...)
		if !errors.Is(err, hallmark.ErrUnavailable) || !strings.Contains(err.Error(), "redirected more than 10 times") || ctx.Err() != nil {
			t.Fatalf("ReadBlob of a redirect loop = %v (context %v), want ErrUnavailable naming the redirects", err, ctx.Err())
		}
		if n := hops.Load(); n > registry.MaxRedirects+1 {
			t.Errorf("the registry redirected %d times, want at most %d", n, registry.MaxRedirects+1)
		}
	})

	t.Run("other host", func(t *testing.T) {
		var sawAuth atomic.Value
		sawAuth.Store("")
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sawAuth.Store(r.Header.Get("Authorization"))
			reg.Handler().ServeHTTP(w, r) // the same blob, from the registry behind the hook
		}))
		defer other.Close()
		var redirected atomic.Bool
		reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
			if auth(w, r) {
				return true
			}
			if !strings.Contains(r.URL.Path, "/blobs/") {
				return false
			}
			redirected.Store(true)
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
			return true
		})
		defer reg.SetHook(nil)
		b, err := registry.ReadBlob(t.Context(), blob, layer.Size, 1<<20, c.RemoteOptions(t.Context())...)
		if err != nil || int64(len(b)) != layer.Size || !redirected.Load() {
			t.Fatalf("ReadBlob through a redirect = %d bytes, %v (redirected %v)", len(b), err, redirected.Load())
		}
		if got := sawAuth.Load().(string); got != "" {
			t.Errorf("the host redirected to received Authorization %q", got)
		}
	})
}

// manifestOf reads the image manifest of ref.
func manifestOf(t *testing.T, ref string) *v1.Manifest {
	t.Helper()
	c := registrytest.Client(t)
	r, err := c.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, c.RemoteOptions(t.Context())...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}
