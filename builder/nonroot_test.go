package builder

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

func TestIsRoot(t *testing.T) {
	tests := map[string]bool{
		"": true, "root": true, "0": true, "0:0": true, "root:root": true, "00": true, " 0 ": true,
		"65532": false, "65532:65532": false, "nonroot": false, "nonroot:root": false, "1000:0": false, "10": false,
	}
	for user, want := range tests {
		if got := isRoot(user); got != want {
			t.Errorf("isRoot(%q) = %v, want %v", user, got, want)
		}
	}
}

func TestCheckNonRoot(t *testing.T) {
	reg := registrytest.New(t)
	host := reg.Host
	push := func(t *testing.T, user string) hallmark.Digest {
		t.Helper()
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		img, err = mutate.Config(img, v1.Config{User: user})
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := reg.Push(t, "app", "", img)
		return hallmark.Digest(ref.DigestStr())
	}
	info := &DockerfileInfo{Target: 0, Stages: []Stage{{Name: "final", Line: 3}}}
	for _, tt := range []struct {
		user      string
		allowRoot bool // the gateway allows root
		ruleAllow bool // the caller's authorization rule does
		wantErr   bool
	}{
		{"", false, false, true}, {"0:0", false, false, true}, {"65532:65532", false, false, false},
		{"", true, false, false}, {"0", false, true, false},
	} {
		t.Run(fmt.Sprintf("%q/%v/%v", tt.user, tt.allowRoot, tt.ruleAllow), func(t *testing.T) {
			var opts []Option
			if tt.allowRoot {
				opts = append(opts, WithRootAllowed())
			}
			b := registryBuilder(t, opts...)
			_, _, err := b.checkPushed(t.Context(), b.pushed(host+"/app", push(t, tt.user), ""), info, tt.ruleAllow, nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("checkPushed(User %q, allowRoot %v) = %v, want error %v", tt.user, tt.allowRoot, err, tt.wantErr)
			}
			if err != nil && (!errors.Is(err, hallmark.ErrInvalid) || !strings.Contains(err.Error(), `stage "final" (FROM at line 3)`)) {
				t.Errorf("error %q does not name the stage or is not ErrInvalid", err)
			}
		})
	}
}

// TestConfigReadAhead: the config digest BuildKit reports is read while the
// manifest is, once, and used only when the manifest names it: a hint
// naming another image's config changes nothing.
func TestConfigReadAhead(t *testing.T) {
	reg := registrytest.New(t)
	push := func(t *testing.T, user string) (hallmark.Digest, hallmark.Digest) {
		t.Helper()
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.Config(img, v1.Config{User: user}); err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := reg.Push(t, "app", "", img)
		return hallmark.Digest(ref.DigestStr()), hallmark.Digest(cfg.String())
	}
	root, rootConfig := push(t, "0")
	nonroot, nonrootConfig := push(t, "65532")
	var configReads atomic.Int32
	reg.SetHook(func(_ http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/blobs/") && (strings.HasSuffix(r.URL.Path, rootConfig.String()) || strings.HasSuffix(r.URL.Path, nonrootConfig.String())) {
			configReads.Add(1)
		}
		return false
	})
	b := registryBuilder(t)
	info := &DockerfileInfo{Target: 0, Stages: []Stage{{Name: "final", Line: 3}}}
	for _, tt := range []struct {
		name        string
		image, hint hallmark.Digest
		wantErr     bool
		wantReads   int32
	}{
		{"root, its own config read ahead", root, rootConfig, true, 1},
		{"non-root, its own config read ahead", nonroot, nonrootConfig, false, 1},
		{"root, hinted a non-root config", root, nonrootConfig, true, 2},
		{"non-root, hinted a root config", nonroot, rootConfig, false, 2},
		{"root, no hint", root, "", true, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			configReads.Store(0)
			users, err := b.pushed(reg.Host+"/app", tt.image, tt.hint).users(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if err := refuseRoot(users, info); (err != nil) != tt.wantErr {
				t.Fatalf("refuseRoot(%q) = %v, want error %v", users, err, tt.wantErr)
			}
			if n := configReads.Load(); n != tt.wantReads {
				t.Errorf("%d config reads, want %d", n, tt.wantReads)
			}
		})
	}
}
