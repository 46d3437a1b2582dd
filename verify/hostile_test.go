package verify_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// TestEvaluatorBoundsTheConfig: the image config a verification reads for
// the rules is bounded, whatever the registry declares or sends: a config
// declared at 4 GiB is refused before it is fetched, and an endless config
// stream is cut at the limit. Both are "could not evaluate" (ErrTooLarge),
// and neither is cached.
func TestEvaluatorBoundsTheConfig(t *testing.T) {
	f := newFixture(t, true)
	e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", "")}, verify.WithMaxConfigSize(64<<10))

	t.Run("declared 4 GiB", func(t *testing.T) {
		cfg := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("c", 64)}
		raw := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[]}`,
			types.OCIManifestSchema1, types.OCIConfigJSON, cfg, int64(4)<<30)
		img, _ := f.reg.Push(t, "huge", "", registry.OCIManifest(raw))
		var fetched atomic.Bool
		f.reg.SetHook(func(_ http.ResponseWriter, r *http.Request) bool {
			if strings.Contains(r.URL.Path, "/blobs/"+cfg.String()) {
				fetched.Store(true)
			}
			return false
		})
		defer f.reg.SetHook(nil)
		_, err := e.Verify(t.Context(), verify.Request{Ref: img.String()})
		if !errors.Is(err, hallmark.ErrTooLarge) {
			t.Fatalf("Verify = %v, want ErrTooLarge", err)
		}
		if fetched.Load() {
			t.Error("the config was fetched although its declared size is over the limit")
		}
	})

	t.Run("endless stream", func(t *testing.T) {
		img, _ := f.reg.PushRandom(t, "endless", "")
		f.attest(t, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
		m := manifestOf(t, img.String())
		f.reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.Contains(r.URL.Path, "/blobs/"+m.Config.Digest.String()) {
				return false
			}
			chunk := make([]byte, 32<<10)
			for range 1 << 12 { // up to 128 MiB, unless the reader hangs up
				if _, err := w.Write(chunk); err != nil {
					break
				}
			}
			return true
		})
		defer f.reg.SetHook(nil)
		_, err := e.Verify(t.Context(), verify.Request{Ref: img.String()})
		if !errors.Is(err, hallmark.ErrTooLarge) {
			t.Fatalf("Verify = %v, want ErrTooLarge", err)
		}
		// Once the hook is gone the config is fine: the error was not cached.
		f.reg.SetHook(nil)
		if v, err := e.Verify(t.Context(), verify.Request{Ref: img.String()}); err != nil || !v.Allowed {
			t.Errorf("Verify after the registry behaves = %+v, %v; want allowed", v, err)
		}
	})
}

// manifestOf reads the image manifest of ref.
func manifestOf(t *testing.T, ref string) *v1.Manifest {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}
