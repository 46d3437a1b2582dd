package builder

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/secretscan/scantest"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

// TestCheckPushedKept: the checks after a solve read a pushed image once.
// A second build of the same digest on the same runtime base reads nothing
// from the registry and gets the same warnings; the same image on another
// runtime base is checked again; an image that failed a check is checked
// again; and root allowed for one build is not allowed for the next.
func TestCheckPushedKept(t *testing.T) {
	reg := registrytest.New(t)
	var reads atomic.Int32
	reg.SetHook(func(_ http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/app/") {
			reads.Add(1)
		}
		return false
	})
	key := scantest.PrivateKeyPEM(t)
	base := scantest.WithLayer(t, empty.Image, map[string]string{"etc/ssl/private/base.key": key})
	basePinned, _ := reg.Push(t, "base", "", base)
	runtime := &hallmark.ResolvedBase{Ref: reg.Host + "/base:v1", Pinned: basePinned.String()}
	user := func(img v1.Image, u string) v1.Image {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf.Config.User = u
		img, err = mutate.ConfigFile(img, cf)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	allowed := scantest.WithLayer(t, base, map[string]string{"app/deploy.key": key})
	nonroot := user(allowed, "65532")
	root := user(allowed, "0")
	withEnv := user(scantest.WithLayer(t, base, map[string]string{"app/hello": "x"}, "API_TOKEN=abc123"), "65532")
	pushed := map[string]hallmark.Digest{}
	for name, img := range map[string]v1.Image{"nonroot": nonroot, "root": root, "env": withEnv} {
		ref, _ := reg.Push(t, "app", "", img)
		pushed[name] = hallmark.Digest(ref.DigestStr())
	}

	b := registryBuilder(t, WithSecretScanAllowPaths("app/*.key"))
	info := &DockerfileInfo{Target: 0, Stages: []Stage{{Name: "final", Line: 3}}}
	var first []string
	for _, tt := range []struct {
		name      string
		image     string
		runtime   *hallmark.ResolvedBase
		allowRoot bool
		wantErr   string // substring; "" means the image passes
		wantKept  bool
		wantReads bool // the registry is read for the app image
	}{
		{name: "first build", image: "nonroot", runtime: runtime, wantReads: true},
		{name: "rebuild, same digest", image: "nonroot", runtime: runtime, wantKept: true},
		{name: "again", image: "nonroot", runtime: runtime, wantKept: true},
		{name: "from scratch: the base's layer is the build's", image: "nonroot", wantErr: "/etc/ssl/private/base.key", wantReads: true},
		{name: "from scratch again: a refusal is not kept", image: "nonroot", wantErr: "/etc/ssl/private/base.key", wantReads: true},
		{name: "root, allowed by the request", image: "root", runtime: runtime, allowRoot: true, wantReads: true},
		{name: "root, kept, not allowed this time", image: "root", runtime: runtime, wantErr: "would run as root", wantKept: true},
		{name: "root, kept, allowed again", image: "root", runtime: runtime, allowRoot: true, wantKept: true},
		{name: "secret in the environment", image: "env", runtime: runtime, wantErr: "env:API_TOKEN", wantReads: true},
		{name: "secret in the environment again", image: "env", runtime: runtime, wantErr: "env:API_TOKEN", wantReads: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reads.Store(0)
			warnings, kept, err := b.checkPushed(t.Context(), b.pushed(reg.Host+"/app", pushed[tt.image], ""), info, tt.allowRoot, tt.runtime)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("checkPushed: %v", err)
			case tt.wantErr != "" && (!errors.Is(err, hallmark.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("checkPushed = %v, want ErrInvalid saying %q", err, tt.wantErr)
			}
			if kept != tt.wantKept {
				t.Errorf("kept = %v, want %v", kept, tt.wantKept)
			}
			if n := reads.Load(); (n > 0) != tt.wantReads {
				t.Errorf("%d registry reads of the image, want reads: %v", n, tt.wantReads)
			}
			if tt.image == "nonroot" && err == nil {
				if len(warnings) != 1 || !strings.Contains(warnings[0], "allowlist (/app/*.key)") {
					t.Fatalf("warnings %q, want the allowlist's", warnings)
				}
				if first == nil {
					first = slices.Clone(warnings)
				} else if !slices.Equal(first, warnings) {
					t.Errorf("warnings %q, want those of the first build %q", warnings, first)
				}
				warnings[0] = "changed by the caller" // the kept copy stays
			}
		})
	}
	// The tags of a kept image move without reading its manifest.
	reads.Store(0)
	if err := b.MoveTags(t.Context(), reg.Host+"/app", pushed["nonroot"], []string{reg.Host + "/app:v1"}); err != nil {
		t.Fatal(err)
	}
	if _, kept, _ := b.checkPushed(t.Context(), b.pushed(reg.Host+"/app", pushed["nonroot"], ""), info, false, runtime); !kept {
		t.Error("the image is no longer kept")
	}
}
