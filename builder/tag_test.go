package builder

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

// TestMoveTagsReusesCheckedManifest: the tags move to the manifest the
// checks after the solve read, without reading it again; without it,
// MoveTags reads it.
func TestMoveTagsReusesCheckedManifest(t *testing.T) {
	reg := registrytest.New(t)
	var gets atomic.Int64
	reg.SetHook(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/sha256:") {
			gets.Add(1)
		}
		return false
	})
	b := registryBuilder(t)
	for _, checked := range []bool{true, false} {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := reg.Push(t, "app", "", img)
		d := hallmark.Digest(ref.DigestStr())
		if checked {
			if _, err := b.pushed(reg.Host+"/app", d, "").platforms(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		before := gets.Load()
		if err := b.MoveTags(t.Context(), reg.Host+"/app", d, []string{reg.Host + "/app:v1"}); err != nil {
			t.Fatal(err)
		}
		if n, want := gets.Load()-before, map[bool]int64{true: 0, false: 1}[checked]; n != want {
			t.Errorf("checked %v: MoveTags read the manifest %d times, want %d", checked, n, want)
		}
		tagged, err := remote.Head(ref.Context().Tag("v1"))
		if err != nil || tagged.Digest.String() != ref.DigestStr() {
			t.Fatalf("checked %v: tag v1 = %v, %v; want %s", checked, tagged, err, ref.DigestStr())
		}
	}
}

// TestMoveTagsLeavesTagsInPlace: a tag that already names the image is not
// pushed again; the others are, each to the image.
func TestMoveTagsLeavesTagsInPlace(t *testing.T) {
	reg := registrytest.New(t)
	var puts atomic.Int64
	reg.SetHook(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && !strings.Contains(r.URL.Path, "/manifests/sha256:") {
			puts.Add(1)
		}
		return false
	})
	b := registryBuilder(t)
	push := func() hallmark.Digest {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := reg.Push(t, "app", "", img)
		return hallmark.Digest(ref.DigestStr())
	}
	first, second := push(), push()
	tag := func(s string) string { return reg.Host + "/app:" + s }
	for _, tt := range []struct {
		image    hallmark.Digest
		tags     []string
		wantPuts int64
	}{
		{first, []string{tag("v1"), tag("latest")}, 2},
		{first, []string{tag("v1"), tag("latest")}, 0},
		{second, []string{tag("v2"), tag("latest")}, 2},
		{second, []string{tag("v1"), tag("v2"), tag("latest")}, 1},
	} {
		puts.Store(0)
		if err := b.MoveTags(t.Context(), reg.Host+"/app", tt.image, tt.tags); err != nil {
			t.Fatal(err)
		}
		if n := puts.Load(); n != tt.wantPuts {
			t.Errorf("MoveTags(%s, %v) pushed %d tags, want %d", tt.image, tt.tags, n, tt.wantPuts)
		}
		for _, tg := range tt.tags {
			r, _ := b.opts.registry.ParseTag(tg)
			got, err := remote.Head(r)
			if err != nil || got.Digest.String() != tt.image.String() {
				t.Fatalf("tag %s = %v, %v; want %s", tg, got, err, tt.image)
			}
		}
	}
}
