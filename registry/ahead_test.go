package registry_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

// TestFallbackAhead: under WithFallbackAhead, asking a registry without
// the referrers API for referrers asks for the fallback tag while the API
// answers (one round trip, not two), once, and returns the same index as
// without it; a registry with the API, or a subject without referrers,
// gets the same answers as without it; and the manifest limit holds for an
// answer read ahead.
func TestFallbackAhead(t *testing.T) {
	for _, tt := range []struct {
		name      string
		api       bool
		referrers int
	}{
		{"no API, one referrer", false, 1},
		{"no API, two referrers", false, 2},
		{"no API, no referrers", false, 0},
		{"API, one referrer", true, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := registrytest.New(t, registrytest.WithReferrersAPI(tt.api))
			subject, desc := reg.PushRandom(t, "app", "")
			for range tt.referrers {
				img, err := random.Image(64, 1)
				if err != nil {
					t.Fatal(err)
				}
				reg.Push(t, "app", "", mutate.Subject(img, desc).(v1.Image))
			}
			var (
				mu                    sync.Mutex
				tagAsked              []time.Time
				apiAnswered           time.Time
				fallbackTag, apiPath  = "/manifests/" + strings.Replace(desc.Digest.String(), ":", "-", 1), "/referrers/" + desc.Digest.String()
				c                     = registrytest.Client(t)
				referrersOf           = func(ctx context.Context) (int, error) { return countReferrers(ctx, c, subject) }
				withoutAhead, errNone = referrersOf(t.Context())
			)
			if errNone != nil || withoutAhead != tt.referrers {
				t.Fatalf("without reading ahead: %d referrers, %v; want %d", withoutAhead, errNone, tt.referrers)
			}
			reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
				switch {
				case strings.HasSuffix(r.URL.Path, fallbackTag):
					mu.Lock()
					tagAsked = append(tagAsked, time.Now())
					mu.Unlock()
				case strings.HasSuffix(r.URL.Path, apiPath):
					time.Sleep(50 * time.Millisecond) // a slow API answer
					reg.Handler().ServeHTTP(w, r)
					mu.Lock()
					apiAnswered = time.Now()
					mu.Unlock()
					return true
				}
				return false
			})
			n, err := referrersOf(registry.WithFallbackAhead(t.Context()))
			if err != nil || n != tt.referrers {
				t.Fatalf("reading ahead: %d referrers, %v; want %d", n, err, tt.referrers)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(tagAsked) != 1 {
				t.Fatalf("the fallback tag was asked for %d times, want once", len(tagAsked))
			}
			if !tt.api && !tagAsked[0].Before(apiAnswered) {
				t.Errorf("the fallback tag was asked for %s after the API answered, want before", tagAsked[0].Sub(apiAnswered))
			}
		})
	}
	t.Run("manifest limit", func(t *testing.T) {
		reg := registrytest.New(t, registrytest.WithReferrersAPI(false))
		subject, desc := reg.PushRandom(t, "app", "")
		for range 20 {
			img, err := random.Image(64, 1)
			if err != nil {
				t.Fatal(err)
			}
			reg.Push(t, "app", "", mutate.Subject(img, desc).(v1.Image))
		}
		ctx := registry.WithManifestLimit(registry.WithFallbackAhead(t.Context()), 1024)
		if _, err := countReferrers(ctx, registrytest.Client(t), subject); !errors.Is(err, hallmark.ErrTooLarge) {
			t.Fatalf("a fallback index over the limit, read ahead: %v, want ErrTooLarge", err)
		}
	})
}

// countReferrers counts the referrers of subject listed through c.
func countReferrers(ctx context.Context, c *registry.Client, subject name.Digest) (int, error) {
	idx, err := remote.Referrers(subject, c.RemoteOptions(ctx)...)
	if err != nil {
		return 0, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return 0, err
	}
	return len(m.Manifests), nil
}
