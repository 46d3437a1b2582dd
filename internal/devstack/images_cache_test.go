package devstack

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

// countingBuild returns an image builder that counts its calls.
func countingBuild(t *testing.T, calls *int) func() (v1.Image, error) {
	t.Helper()
	return func() (v1.Image, error) {
		*calls++
		return testImage(t), nil
	}
}

func TestCachedImage(t *testing.T) {
	want := testImage(t)
	tests := []struct {
		name      string
		between   func(t *testing.T, cacheDir string) // after the first call
		key2      string
		wantCalls int
	}{
		{name: "warm", between: func(*testing.T, string) {}, key2: "k", wantCalls: 1},
		{name: "other key", between: func(*testing.T, string) {}, key2: "other", wantCalls: 2},
		{name: "missing blob", key2: "k", wantCalls: 2, between: func(t *testing.T, cacheDir string) {
			blobs, err := filepath.Glob(filepath.Join(cacheDir, "*", "blobs", "sha256", "*"))
			if err != nil || len(blobs) == 0 {
				t.Fatalf("no blobs in cache: %v", err)
			}
			for _, b := range blobs {
				if err := os.Remove(b); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{name: "corrupt index", key2: "k", wantCalls: 2, between: func(t *testing.T, cacheDir string) {
			indexes, err := filepath.Glob(filepath.Join(cacheDir, "*", "index.json"))
			if err != nil || len(indexes) != 1 {
				t.Fatalf("index.json in cache: %v, %v", indexes, err)
			}
			writeTestFile(t, indexes[0], "{", 0o644)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cacheDir := filepath.Join(t.TempDir(), "images")
			calls := 0
			first, err := CachedImage(cacheDir, "k", countingBuild(t, &calls))
			if err != nil {
				t.Fatalf("CachedImage: %v", err)
			}
			tt.between(t, cacheDir)
			second, err := CachedImage(cacheDir, tt.key2, countingBuild(t, &calls))
			if err != nil {
				t.Fatalf("CachedImage again: %v", err)
			}
			if calls != tt.wantCalls {
				t.Errorf("build called %d times, want %d", calls, tt.wantCalls)
			}
			for _, img := range []v1.Image{first, second} {
				if got := imageDigest(t, img); got != imageDigest(t, want) {
					t.Errorf("cached digest %s, want %s", got, imageDigest(t, want))
				}
				layers, err := img.Layers()
				if err != nil || len(layers) != 1 {
					t.Fatalf("Layers: %d, %v", len(layers), err)
				}
				checkEntries(t, layers[0], []wantEntry{{name: "tmp", typeflag: '5', mode: 0o1777}}, nil)
			}
			if tmps, _ := filepath.Glob(filepath.Join(cacheDir, ".tmp-*")); len(tmps) != 0 {
				t.Errorf("temporary directories left: %v", tmps)
			}
		})
	}
}

func TestEnsureImage(t *testing.T) {
	host := registrytest.New(t, registrytest.WithReferrersAPI(false)).Host
	static := testImage(t)
	tests := []struct {
		name string
		ref  string
	}{
		{name: "push", ref: host + "/" + StaticRepository + ":" + StaticTag},
		{name: "again", ref: host + "/" + StaticRepository + ":" + StaticTag},
		{name: "second tag", ref: host + "/" + StaticRepository + ":latest"},
		{name: "by digest", ref: host + "/" + StaticRepository + "@" + imageDigest(t, static).String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := name.ParseReference(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			got, err := EnsureImage(t.Context(), static, ref)
			if err != nil {
				t.Fatalf("EnsureImage: %v", err)
			}
			if got != imageDigest(t, static) {
				t.Errorf("EnsureImage = %s, want %s", got, imageDigest(t, static))
			}
			desc, err := remote.Head(ref, remote.WithContext(t.Context()))
			if err != nil {
				t.Fatalf("Head: %v", err)
			}
			if desc.Digest != got || desc.MediaType != "application/vnd.oci.image.manifest.v1+json" {
				t.Errorf("registry has %s %s, want %s", desc.MediaType, desc.Digest, got)
			}
		})
	}
}

// TestGolangImageRealGoroot builds the golang image from the Go running the
// tests, caches it and pushes it, and logs how long each step takes.
func TestGolangImageRealGoroot(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("compresses 200 MB: about 5 s in all, but 60 s under -race")
	}
	needBusybox(t)
	out, err := exec.CommandContext(t.Context(), "go", "env", "GOROOT").Output()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no go command in CI: %v", err)
		}
		t.Skipf("no go command: %v", err)
	}
	goroot := strings.TrimSpace(string(out))
	cacheDir := t.TempDir()

	start := time.Now()
	key, err := GolangImageKey(goroot, hostBusybox)
	if err != nil {
		t.Fatalf("GolangImageKey: %v", err)
	}
	keyTime := time.Since(start)
	var buildTime time.Duration
	build := func() (v1.Image, error) {
		start := time.Now()
		defer func() { buildTime = time.Since(start) }()
		return GolangImage(goroot, hostBusybox)
	}
	start = time.Now()
	cold, err := CachedImage(cacheDir, key, build)
	if err != nil {
		t.Fatalf("CachedImage cold: %v", err)
	}
	coldTime := time.Since(start)
	start = time.Now()
	warm, err := CachedImage(cacheDir, key, func() (v1.Image, error) {
		t.Error("warm CachedImage rebuilt the image")
		return GolangImage(goroot, hostBusybox)
	})
	if err != nil {
		t.Fatalf("CachedImage warm: %v", err)
	}
	warmTime := time.Since(start)
	if imageDigest(t, cold) != imageDigest(t, warm) {
		t.Errorf("cold and warm digests differ")
	}
	size, err := cold.Size()
	if err != nil {
		t.Fatal(err)
	}
	m, err := cold.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := cold.Layers()
	if err != nil {
		t.Fatal(err)
	}
	hdrs, _ := layerEntries(t, layers[1])
	for _, p := range []string{"usr/local/go/bin/go", "usr/local/go/src/fmt/print.go", "usr/local/go/pkg/tool/" + runtime.GOOS + "_" + runtime.GOARCH + "/compile"} {
		if hdrs[p] == nil {
			t.Errorf("%s missing from the toolchain layer", p)
		}
	}

	host := registrytest.New(t, registrytest.WithReferrersAPI(false)).Host
	version, err := GoVersion(goroot)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/" + GolangRepository + ":" + version)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if _, err := EnsureImage(t.Context(), warm, ref); err != nil {
		t.Fatalf("EnsureImage: %v", err)
	}
	pushTime := time.Since(start)
	start = time.Now()
	if _, err := EnsureImage(t.Context(), warm, ref); err != nil {
		t.Fatalf("EnsureImage again: %v", err)
	}
	t.Logf("key %v; build %v; cold CachedImage %v (incl. build); warm %v; push %v; re-push %v",
		keyTime, buildTime, coldTime, warmTime, pushTime, time.Since(start))
	t.Logf("manifest %d B; layers base %d B, toolchain %d B compressed; %d toolchain entries",
		size, m.Layers[0].Size, m.Layers[1].Size, len(hdrs))
}
