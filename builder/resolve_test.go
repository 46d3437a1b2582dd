package builder

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

// testRegistry is an in-process registry holding an image and an index.
type testRegistry struct {
	host     string // "127.0.0.1:port"
	image    v1.Hash
	index    v1.Hash
	imageRef string // host/hallmark/static:v1
	indexRef string // host/hallmark/multi:v1
}

// startRegistry serves an in-process registry whose requests go through
// hook, if not nil, and pushes an image and an index to it (past the hook,
// so a hook that refuses access does not stop the setup).
func startRegistry(t *testing.T, hook registrytest.Hook) *testRegistry {
	t.Helper()
	reg := registrytest.New(t)
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := random.Index(256, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	image, _ := reg.Push(t, "hallmark/static", "v1", img)
	index, _ := reg.Push(t, "hallmark/multi", "v1", idx)
	reg.SetHook(hook)
	r := &testRegistry{host: reg.Host, imageRef: reg.Host + "/hallmark/static:v1", indexRef: reg.Host + "/hallmark/multi:v1"}
	if r.image, err = v1.NewHash(image.DigestStr()); err != nil {
		t.Fatal(err)
	}
	if r.index, err = v1.NewHash(index.DigestStr()); err != nil {
		t.Fatal(err)
	}
	return r
}

// newTestResolver returns a Resolver with a registry client made of opts.
func newTestResolver(t *testing.T, opts ...registry.Option) *Resolver {
	t.Helper()
	c, err := registry.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewResolver(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolve(t *testing.T) {
	reg := startRegistry(t, nil)
	res := newTestResolver(t)
	tests := []struct {
		name, ref string
		want      v1.Hash
		pinned    string
	}{
		{"image tag", reg.imageRef, reg.image, reg.host + "/hallmark/static@" + reg.image.String()},
		{"index stays an index", reg.indexRef, reg.index, reg.host + "/hallmark/multi@" + reg.index.String()},
		{"pinned image", reg.host + "/hallmark/static@" + reg.image.String(), reg.image, reg.host + "/hallmark/static@" + reg.image.String()},
		{"tag and digest", reg.host + "/hallmark/multi:v1@" + reg.index.String(), reg.index, reg.host + "/hallmark/multi@" + reg.index.String()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := res.Resolve(t.Context(), tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			want := hallmark.ResolvedBase{Ref: tc.ref, Pinned: tc.pinned, Digest: hallmark.Digest(tc.want.String())}
			if got != want {
				t.Fatalf("Resolve() = %+v, want %+v", got, want)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	reg := startRegistry(t, nil)
	res := newTestResolver(t)
	missingDigest := "sha256:" + strings.Repeat("0", 64)

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedHost := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name, ref string
		want      error
		msg       string
	}{
		{"missing tag", reg.host + "/hallmark/static:nope", hallmark.ErrNotFound,
			fmt.Sprintf("base image %q not found in registry %s", reg.host+"/hallmark/static:nope", reg.host)},
		{"missing repository", reg.host + "/nobody/nothing:v1", hallmark.ErrNotFound, "not found in registry"},
		{"missing digest", reg.host + "/hallmark/static@" + missingDigest, hallmark.ErrNotFound, "not found in registry"},
		{"closed port", closedHost + "/hallmark/static:v1", hallmark.ErrUnavailable, "registry " + closedHost},
		{"bad reference", "UPPER/Case:v1", hallmark.ErrInvalid, `resolve base "UPPER/Case:v1"`},
		{"empty reference", "", hallmark.ErrInvalid, "resolve base"},
		{"bad digest", "alpine@sha256:xyz", hallmark.ErrInvalid, "resolve base"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := res.Resolve(t.Context(), tc.ref)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Resolve() = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
		})
	}
}

func TestResolveCanceled(t *testing.T) {
	reg := startRegistry(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := newTestResolver(t).Resolve(ctx, reg.imageRef)
	if !errors.Is(err, hallmark.ErrCanceled) {
		t.Fatalf("Resolve() = %v, want ErrCanceled", err)
	}
}

func TestResolveAuth(t *testing.T) {
	basicAuth := func(w http.ResponseWriter, r *http.Request) bool {
		if u, p, ok := r.BasicAuth(); !ok || u != "ci" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return true
		}
		return false
	}
	reg := startRegistry(t, basicAuth)

	_, err := newTestResolver(t).Resolve(t.Context(), reg.imageRef)
	if !errors.Is(err, hallmark.ErrPermissionDenied) {
		t.Fatalf("Resolve() without credentials = %v, want ErrPermissionDenied", err)
	}
	if !strings.Contains(err.Error(), "refused access to hallmark/static") {
		t.Errorf("error %q does not name the repository", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q leaks the password", err)
	}

	got, err := newTestResolver(t, registry.WithKeychain(registry.Keychain{reg.host: {Username: "ci", Password: "s3cret"}})).Resolve(t.Context(), reg.imageRef)
	if err != nil {
		t.Fatalf("Resolve() with credentials: %v", err)
	}
	if got.Digest.String() != reg.image.String() {
		t.Fatalf("Resolve() digest = %s, want %s", got.Digest, reg.image)
	}

	wrong, err := newTestResolver(t, registry.WithKeychain(registry.Keychain{reg.host: {Username: "ci", Password: "wrong"}})).Resolve(t.Context(), reg.imageRef)
	if !errors.Is(err, hallmark.ErrPermissionDenied) {
		t.Fatalf("Resolve() with wrong credentials = %+v, %v; want ErrPermissionDenied", wrong, err)
	}
}

func TestResolveForbidden(t *testing.T) {
	forbid := func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/manifests/") {
			http.Error(w, `{"errors":[{"code":"DENIED","message":"no"}]}`, http.StatusForbidden)
			return true
		}
		return false
	}
	reg := startRegistry(t, forbid)
	if _, err := newTestResolver(t).Resolve(t.Context(), reg.imageRef); !errors.Is(err, hallmark.ErrPermissionDenied) {
		t.Fatalf("Resolve() = %v, want ErrPermissionDenied", err)
	}
}

func TestResolveFallsBackToGet(t *testing.T) {
	var heads, gets atomic.Int32
	noHead := func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/manifests/") {
			if r.Method == http.MethodHead {
				heads.Add(1)
				w.WriteHeader(http.StatusMethodNotAllowed)
				return true
			}
			gets.Add(1)
		}
		return false
	}
	reg := startRegistry(t, noHead)
	got, err := newTestResolver(t).Resolve(t.Context(), reg.indexRef)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest.String() != reg.index.String() {
		t.Fatalf("Resolve() digest = %s, want %s", got.Digest, reg.index)
	}
	if heads.Load() != 1 || gets.Load() != 1 {
		t.Errorf("HEAD %d, GET %d times; want one each", heads.Load(), gets.Load())
	}
}

func TestResolveInsecureRegistry(t *testing.T) {
	reg := startRegistry(t, nil)
	// A name that is not loopback, so only an insecure host of the
	// registry client makes it plain HTTP; the transport dials the test
	// server for it.
	const host = "registry.test:5000"
	dialer := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, reg.host)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	ref := host + "/hallmark/static:v1"

	_, err := newTestResolver(t, registry.WithTransport(tr)).Resolve(t.Context(), ref)
	if !errors.Is(err, hallmark.ErrUnavailable) {
		t.Fatalf("Resolve() over HTTPS of a plain-HTTP registry = %v, want ErrUnavailable", err)
	}
	got, err := newTestResolver(t, registry.WithTransport(tr), registry.WithInsecureHosts(host)).Resolve(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if want := host + "/hallmark/static@" + reg.image.String(); got.Pinned != want {
		t.Fatalf("Pinned = %q, want %q", got.Pinned, want)
	}
}

func TestNewResolverNil(t *testing.T) {
	if _, err := NewResolver(nil); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("NewResolver(nil) = %v, want ErrInvalid", err)
	}
}

func TestResolveAll(t *testing.T) {
	reg := startRegistry(t, nil)
	res := newTestResolver(t)
	got, err := res.ResolveAll(t.Context(), []string{reg.indexRef, reg.imageRef, reg.indexRef})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Ref != reg.indexRef || got[1].Ref != reg.imageRef ||
		got[0].Digest.String() != reg.index.String() || got[1].Digest.String() != reg.image.String() {
		t.Fatalf("ResolveAll() = %+v", got)
	}
	if none, err := res.ResolveAll(t.Context(), nil); err != nil || len(none) != 0 {
		t.Fatalf("ResolveAll(nil) = %v, %v", none, err)
	}
	_, err = res.ResolveAll(t.Context(), []string{reg.imageRef, reg.host + "/hallmark/gone:v1"})
	if !errors.Is(err, hallmark.ErrNotFound) || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("ResolveAll() with a missing image = %v, want ErrNotFound naming it", err)
	}
}

func TestNamedContexts(t *testing.T) {
	const d = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	tests := []struct {
		ref, key string // key "" means left out
	}{
		{"alpine", "context:alpine"},
		{"alpine:latest", "context:alpine"},
		{"library/alpine", "context:alpine"},
		{"docker.io/library/alpine", "context:alpine"},
		{"index.docker.io/library/alpine:latest", "context:alpine"},
		{"alpine:3.20", "context:alpine:3.20"},
		{"docker.io/library/alpine:3.20", "context:alpine:3.20"},
		{"myorg/app:v1", "context:myorg/app:v1"},
		{"ghcr.io/org/img:v1", "context:ghcr.io/org/img:v1"},
		{"localhost:5000/hallmark/static", "context:localhost:5000/hallmark/static"},
		{"localhost:5000/hallmark/static:latest", "context:localhost:5000/hallmark/static"},
		{"alpine@" + d, "context:alpine@" + d},
		{"alpine:3.20@" + d, "context:alpine:3.20@" + d},
		{"alpine:latest@" + d, "context:alpine:latest@" + d},
		{"Alpine", ""},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			base := hallmark.ResolvedBase{Ref: tc.ref, Pinned: "index.docker.io/library/x@" + d, Digest: d}
			got := NamedContexts([]hallmark.ResolvedBase{base})
			if tc.key == "" {
				if len(got) != 0 {
					t.Fatalf("NamedContexts() = %v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[tc.key] != "docker-image://index.docker.io/library/x@"+d {
				t.Fatalf("NamedContexts() = %v, want key %q", got, tc.key)
			}
		})
	}

	// Of refs with the same key, the first wins.
	got := NamedContexts([]hallmark.ResolvedBase{
		{Ref: "alpine", Pinned: "first"},
		{Ref: "docker.io/library/alpine:latest", Pinned: "second"},
	})
	if len(got) != 1 || got["context:alpine"] != "docker-image://first" {
		t.Fatalf("NamedContexts() = %v", got)
	}
}

// TestResolveFoundPins: a builder's Resolver asks the registry for a ref
// pinned by digest once, and for a tag every time, since tags move; a
// pinned ref that was not found is asked again.
func TestResolveFoundPins(t *testing.T) {
	var asked atomic.Int32
	reg := startRegistry(t, func(_ http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/manifests/") {
			asked.Add(1)
		}
		return false
	})
	b := registryBuilder(t)
	pinned := reg.host + "/hallmark/static@" + reg.image.String()
	gone := reg.host + "/hallmark/static@sha256:" + strings.Repeat("0", 64)
	for _, tt := range []struct {
		ref       string
		wantAsked int32
		wantErr   error
	}{
		{pinned, 1, nil},
		{pinned, 0, nil},
		{reg.imageRef, 1, nil},
		{reg.imageRef, 1, nil},
		{gone, 2, hallmark.ErrNotFound}, // HEAD, then GET for the error body
		{gone, 2, hallmark.ErrNotFound}, // HEAD, then GET for the error body
	} {
		asked.Store(0)
		got, err := b.resolver.Resolve(t.Context(), tt.ref)
		if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
			t.Fatalf("Resolve(%s) = %v, want %v", tt.ref, err, tt.wantErr)
		}
		if n := asked.Load(); n != tt.wantAsked {
			t.Errorf("Resolve(%s) asked the registry %d times, want %d", tt.ref, n, tt.wantAsked)
		}
		if err == nil && (got.Ref != tt.ref || got.Pinned != pinned || got.Digest.String() != reg.image.String()) {
			t.Errorf("Resolve(%s) = %+v", tt.ref, got)
		}
	}
}
