package builder

import (
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/secretscan/scantest"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

func TestScanSecretsImage(t *testing.T) {
	reg := registrytest.New(t)
	host := reg.Host
	pushTest := func(t *testing.T, repo string, w remote.Taggable) string {
		t.Helper()
		ref, _ := reg.Push(t, repo, "", w)
		return ref.String()
	}
	key := scantest.PrivateKeyPEM(t)

	// The base has a key and a credential-like variable of its own: they
	// are the base's business, not this build's.
	base := scantest.WithLayer(t, empty.Image, map[string]string{"etc/ssl/private/base.key": key, "etc/passwd": "root:x:0:0::/root:/bin/sh\n"}, "BASE_PASSWORD=from-the-base")
	basePinned := pushTest(t, "base", base)
	baseDigest, _ := base.Digest()
	runtime := &hallmark.ResolvedBase{Ref: host + "/base:v1", Pinned: basePinned, Digest: hallmark.Digest(baseDigest.String())}

	clean := scantest.WithLayer(t, base, map[string]string{"app/hello": "\x7fELF\x00binary", "app/README.md": "Keep the PRIVATE KEY in a secret.\n"})
	withKey := scantest.WithLayer(t, base, map[string]string{"app/deploy.key": key})
	withEnv := scantest.WithLayer(t, base, map[string]string{"app/hello": "x"}, "API_TOKEN=abc123")
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
			b := registryBuilder(t, tt.opts...)
			pinned := pushTest(t, "app", tt.image)
			repo, d, _ := strings.Cut(pinned, "@")
			warnings, err := b.scanSecrets(t.Context(), b.pushed(repo, hallmark.Digest(d), ""), tt.runtime)
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
