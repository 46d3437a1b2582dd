package verify_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

// TestResolvePlatform: Resolve selects an index's platform manifest
// (normalized as containerd does), checks an image's config against the
// platform asked for, and Verify reads the selected manifest's
// attestations.
func TestResolvePlatform(t *testing.T) {
	f := newFixture(t, true)
	idx, pms := multiIndex(t, f, "v1", "linux/amd64", "linux/arm64")
	single, _ := f.reg.Push(t, "single", "v1", registrytest.PlatformImage(t, "linux/amd64", map[string]string{"/a": "a"}))
	random, _ := f.reg.PushRandom(t, "random", "v1")
	v := f.verifier(t)
	for _, tc := range []struct {
		name, ref, platform string
		wantPlatform        string
		selected            string // pinned; "" when an error is expected
		platforms           int
		err                 error
		msg                 string
	}{
		{"index, arm64", f.reg.Host + "/multi:v1", "linux/arm64", "linux/arm64", pms[1].Ref.String(), 2, nil, ""},
		{"index, arm64 variant", idx.String(), "linux/arm64/v8", "linux/arm64", pms[1].Ref.String(), 2, nil, ""},
		{"index, no platform", idx.String(), "", "", idx.String(), 2, nil, ""},
		{"index, absent platform", idx.String(), "linux/s390x", "", "", 0, hallmark.ErrNotFound, "the index has no linux/s390x image; it has linux/amd64, linux/arm64"},
		{"image, its platform", single.String(), "linux/amd64", "linux/amd64", single.String(), 0, nil, ""},
		{"image, no platform", single.String(), "", "", single.String(), 0, nil, ""},
		{"image, other platform", single.String(), "linux/arm64", "", "", 0, hallmark.ErrInvalid, "is a linux/amd64 image, not linux/arm64"},
		{"image without a platform", random.String(), "linux/amd64", "", "", 0, hallmark.ErrInvalid, "names no platform"},
		{"malformed platform", idx.String(), "Linux/ARM64", "", "", 0, hallmark.ErrInvalid, "not os/arch[/variant]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := v.Resolve(t.Context(), tc.ref, tc.platform)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("Resolve = %v, want %v with %q", err, tc.err, tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Platform != tc.wantPlatform || r.Selected.Pinned != tc.selected || len(r.Platforms) != tc.platforms || r.IsIndex() != (tc.platforms > 0) {
				t.Fatalf("resolved %+v, want platform %q, selected %s, %d platforms", r, tc.wantPlatform, tc.selected, tc.platforms)
			}
			res, err := v.Verify(t.Context(), r)
			if err != nil {
				t.Fatal(err)
			}
			if res.Ref != tc.ref || res.Pinned != tc.selected || string(res.Digest) != string(r.Selected.Digest) {
				t.Errorf("result about %s (%s, %s), want %s", res.Pinned, res.Ref, res.Digest, tc.selected)
			}
			if r.Selected.Pinned == pms[1].Ref.String() && len(res.Verified(hallmark.PredicateSPDX)) != 1 {
				t.Errorf("the arm64 manifest's SBOM did not verify: %+v", res.Attestations)
			}
		})
	}
	r, err := v.Resolve(t.Context(), idx.String(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.PlatformList(); got != "linux/amd64, linux/arm64" {
		t.Errorf("PlatformList = %q", got)
	}
}
