package registry_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		opt  registry.Option
	}{
		{"nil keychain", registry.WithKeychain(nil)},
		{"nil transport", registry.WithTransport(nil)},
		{"bad insecure host", registry.WithInsecureHosts("bad host/x")},
		{"no retry steps", registry.WithRetryBackoff(remote.Backoff{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := registry.New(tt.opt); !errors.Is(err, hallmark.ErrInvalid) || c != nil {
				t.Fatalf("New = %v, %v; want ErrInvalid", c, err)
			}
		})
	}
}

func TestKeychain(t *testing.T) {
	kc := registry.Keychain{"registry.example:5000": {Username: "ci", Password: "s3cret"}}
	c, err := registry.New(registry.WithKeychain(kc))
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.Credential(t.Context(), "registry.example:5000")
	if err != nil || !ok || got.Username != "ci" || got.Password != "s3cret" {
		t.Fatalf("Credential = %+v, %v, %v; want ci's", got, ok, err)
	}
	if got, ok, err := c.Credential(t.Context(), "other.example"); err != nil || ok || got != (authn.AuthConfig{}) {
		t.Fatalf("Credential of another host = %+v, %v, %v; want anonymous", got, ok, err)
	}
	anon, err := registry.New()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := anon.Credential(t.Context(), "registry.example:5000"); ok || err != nil {
		t.Fatalf("Credential without a keychain = %v, %v; want anonymous", ok, err)
	}
	if s := kc["registry.example:5000"].String(); strings.Contains(s, "s3cret") {
		t.Errorf("String() = %q shows the password", s)
	}
}

// TestClientCredentials: the client's keychain reaches the registry, and
// its refusal is ErrPermissionDenied.
func TestClientCredentials(t *testing.T) {
	reg := registrytest.New(t)
	subject, _ := reg.PushRandom(t, "app", "v1")
	reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if u, p, ok := r.BasicAuth(); !ok || u != "ci" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return true
		}
		return false
	})
	tests := []struct {
		name string
		kc   registry.Keychain
		want error
	}{
		{"right", registry.Keychain{reg.Host: {Username: "ci", Password: "s3cret"}}, nil},
		{"wrong", registry.Keychain{reg.Host: {Username: "ci", Password: "wrong"}}, hallmark.ErrPermissionDenied},
		{"none", nil, hallmark.ErrPermissionDenied},
		{"other host", registry.Keychain{"other.example": {Username: "ci", Password: "s3cret"}}, hallmark.ErrPermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := registrytest.Client(t, registry.WithKeychain(tt.kc))
			_, err := remote.Head(subject, c.RemoteOptions(t.Context())...)
			if err = registry.Error(t.Context(), err); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Head = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestInsecureTransport reaches a plain-HTTP registry under a name that is
// not loopback only when the name is an insecure host.
func TestInsecureTransport(t *testing.T) {
	reg := registrytest.New(t)
	subject, _ := reg.PushRandom(t, "app", "v1")
	const host = "registry.test:5000"
	tr := dialTo(reg.Host)
	t.Cleanup(tr.CloseIdleConnections)
	ref := host + "/app:v1"
	for _, tt := range []struct {
		name string
		opts []registry.Option
		want error
	}{
		{"https", []registry.Option{registry.WithTransport(tr)}, hallmark.ErrUnavailable},
		{"insecure", []registry.Option{registry.WithTransport(tr), registry.WithInsecureHosts(host)}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := registrytest.Client(t, tt.opts...)
			r, err := c.ParseReference(ref)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Head(r, c.RemoteOptions(t.Context())...)
			if err = registry.Error(t.Context(), err); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Head = %v, want %v", err, tt.want)
			}
			if err == nil && desc.Digest.String() != subject.DigestStr() {
				t.Fatalf("Head digest = %s, want %s", desc.Digest, subject.DigestStr())
			}
		})
	}
}

func TestRemoteOptionsContext(t *testing.T) {
	reg := registrytest.New(t)
	subject, _ := reg.PushRandom(t, "app", "v1")
	c := registrytest.Client(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := remote.Get(subject, c.RemoteOptions(ctx)...)
	if err = registry.Error(ctx, err); !errors.Is(err, hallmark.ErrCanceled) {
		t.Fatalf("Get under a canceled context = %v, want ErrCanceled", err)
	}
}

func TestFallbackTag(t *testing.T) {
	reg := registrytest.New(t, registrytest.WithReferrersAPI(false))
	subject, desc := reg.PushRandom(t, "app", "")
	referrer := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},` +
		`"layers":[],"subject":{"mediaType":"` + string(desc.MediaType) + `","digest":"` + desc.Digest.String() + `","size":` + strconv.FormatInt(desc.Size, 10) + `}}`
	c := registrytest.Client(t)
	r, _ := reg.Push(t, "app", "", registry.OCIManifest(referrer))
	tag := registry.FallbackTag(subject)
	if want := subject.Context().Name() + ":sha256-" + desc.Digest.Hex; tag.Name() != want {
		t.Fatalf("FallbackTag = %s, want %s", tag, want)
	}
	idx, err := remote.Index(tag, c.RemoteOptions(t.Context())...)
	if err != nil {
		t.Fatalf("read the fallback tag: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 || m.Manifests[0].Digest.String() != r.DigestStr() {
		t.Fatalf("fallback tag lists %+v (%v), want the referrer %s", m, err, r.DigestStr())
	}
}

// dialTo is a transport that reaches addr whatever host a request names.
func dialTo(addr string) *http.Transport {
	dialer := &net.Dialer{}
	return &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, addr)
	}}
}
