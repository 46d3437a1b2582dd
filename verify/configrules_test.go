package verify_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// configDigest is the digest of img's config, read from its registry.
func configDigest(t testing.TB, img name.Digest) string {
	t.Helper()
	ri, err := remote.Image(img)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ri.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return cfg.String()
}

// TestEvaluatorConfigOnlyForRules: with WithConfigOnlyForRules, the image
// config is read only when a rule reads the image variable or a platform
// is asked for, and then the rules see it; without the option it is read
// for every verdict, whose Input holds it.
func TestEvaluatorConfigOnlyForRules(t *testing.T) {
	f := newFixture(t, true)
	img, _ := f.reg.PushRandom(t, "app", "")
	f.attest(t, img, hallmark.PredicateSLSAProvenanceV1, goodProvenance)
	cfg := configDigest(t, img)
	var reads atomic.Int32
	f.reg.SetHook(func(_ http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/blobs/"+cfg) {
			reads.Add(1)
		}
		return false
	})
	for _, tt := range []struct {
		name      string
		only      bool // WithConfigOnlyForRules
		rules     string
		platform  string
		wantReads int32
	}{
		{name: "every config read", wantReads: 1},
		{name: "no rule reads the image", only: true},
		{name: "a rule reads the config", only: true, rules: `{name: rootfs, expression: "has(image.config.rootfs)"}`, wantReads: 1},
		{name: "a rule reads the image's reference", only: true, rules: `{name: ref, expression: "image.ref != ''"}`, wantReads: 1},
		{name: "a platform asked for", only: true, platform: "linux/amd64", wantReads: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var opts []verify.EvaluatorOption
			if tt.only {
				opts = append(opts, verify.WithConfigOnlyForRules())
			}
			e := newEvaluator(t, f, []*policy.Policy{testPolicy(t, f, "p", tt.rules)}, opts...)
			reads.Store(0)
			v, err := e.Verify(t.Context(), verify.Request{Ref: img.String(), Platform: tt.platform})
			if err != nil {
				t.Fatal(err)
			}
			if n := reads.Load(); n != tt.wantReads {
				t.Errorf("the config was read %d times, want %d", n, tt.wantReads)
			}
			if (v.Input.Image.Config != nil) != (tt.wantReads > 0) {
				t.Errorf("Input.Image.Config = %v, want it read: %v", v.Input.Image.Config, tt.wantReads > 0)
			}
			if tt.platform == "" && !v.Allowed {
				t.Errorf("denied: %v", v.Reasons)
			}
		})
	}
}
