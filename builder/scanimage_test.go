package builder

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcrtarball "github.com/google/go-containerregistry/pkg/v1/tarball"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/contextstore"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

// testPrivateKey returns a fresh PKCS#8 private key in PEM.
func testPrivateKey(t testing.TB) string {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// testLayer is a layer of regular files, path → content.
func testLayer(t *testing.T, files map[string]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for p, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: p, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := ggcrtarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// withLayer adds a layer and environment variables to img.
func withLayer(t *testing.T, img v1.Image, files map[string]string, env ...string) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(img, testLayer(t, files))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config
	cfg.Env = append(cfg.Env, env...)
	img, err = mutate.Config(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestScanSecretsImage(t *testing.T) {
	reg := registrytest.New(t)
	host := reg.Host
	pushTest := func(t *testing.T, repo string, w remote.Taggable) string {
		t.Helper()
		ref, _ := reg.Push(t, repo, "", w)
		return ref.String()
	}
	store, err := contextstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := testPrivateKey(t)

	// The base has a key and a credential-like variable of its own: they
	// are the base's business, not this build's.
	base := withLayer(t, empty.Image, map[string]string{"etc/ssl/private/base.key": key, "etc/passwd": "root:x:0:0::/root:/bin/sh\n"}, "BASE_PASSWORD=from-the-base")
	basePinned := pushTest(t, "base", base)
	baseDigest, _ := base.Digest()
	runtime := &hallmark.ResolvedBase{Ref: host + "/base:v1", Pinned: basePinned, Digest: hallmark.Digest(baseDigest.String())}

	clean := withLayer(t, base, map[string]string{"app/hello": "\x7fELF\x00binary", "app/README.md": "Keep the PRIVATE KEY in a secret.\n"})
	withKey := withLayer(t, base, map[string]string{"app/deploy.key": key})
	withEnv := withLayer(t, base, map[string]string{"app/hello": "x"}, "API_TOKEN=abc123")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: clean, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: withKey, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})

	tests := []struct {
		name     string
		image    remote.Taggable
		runtime  *hallmark.ResolvedBase
		opts     []Option
		wantErr  string // substring; "" means accepted
		wantWarn string // substring of the only warning; "" means none
	}{
		{name: "clean", image: clean, runtime: runtime},
		{name: "key", image: withKey, runtime: runtime, wantErr: "/app/deploy.key (layer 2): a PEM private key [rule private-key]"},
		{name: "key allowed", image: withKey, runtime: runtime, opts: []Option{WithSecretScanAllowPaths("app/*.key")},
			wantWarn: "allowed by the gateway's allowlist (/app/*.key): /app/deploy.key (layer 2)"},
		{name: "scan disabled", image: withKey, runtime: runtime, opts: []Option{WithoutSecretScanUnsafe()}, wantWarn: "secret scan is disabled"},
		{name: "env", image: withEnv, runtime: runtime, wantErr: "env:API_TOKEN: a credential-like variable name (ends in TOKEN) [rule credential-name]"},
		{name: "from scratch, every layer is the build's", image: clean, wantErr: "/etc/ssl/private/base.key (layer 1)"},
		{name: "index", image: idx, runtime: runtime, wantErr: "/app/deploy.key (layer 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := New("unix:///nonexistent.sock", store, append([]Option{WithRegistry(registrytest.Client(t))}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			pinned := pushTest(t, "app", tt.image)
			repo, d, _ := strings.Cut(pinned, "@")
			warnings, err := b.scanSecrets(t.Context(), repo, hallmark.Digest(d), tt.runtime)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("scanSecrets: %v", err)
			case tt.wantErr != "" && (!errors.Is(err, hallmark.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("scanSecrets = %v, want ErrInvalid saying %q", err, tt.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), "BEGIN") || strings.Contains(err.Error(), "abc123") || strings.Contains(err.Error(), "from-the-base")) {
				t.Errorf("error %q shows a secret", err)
			}
			if tt.wantErr == "" && (len(warnings) > 1 || (tt.wantWarn == "") != (len(warnings) == 0) ||
				(tt.wantWarn != "" && !strings.Contains(warnings[0], tt.wantWarn))) {
				t.Errorf("warnings = %q, want one saying %q", warnings, tt.wantWarn)
			}
		})
	}
}
