package builder

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/contextstore"
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
	store, err := contextstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := New([]string{"unix:///nonexistent.sock"}, store, WithRegistry(registrytest.Client(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
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
