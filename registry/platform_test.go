package registry_test

import (
	"errors"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

func TestMatchPlatform(t *testing.T) {
	for _, tc := range []struct {
		p    *v1.Platform
		want string
		ok   bool
	}{
		{&v1.Platform{OS: "linux", Architecture: "arm64"}, "linux/arm64", true},
		{&v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, "linux/arm64", true},
		{&v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "linux/arm", true},
		{&v1.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, "linux/arm/v7", false},
		{&v1.Platform{OS: "linux", Architecture: "amd64"}, "linux/arm64", false},
		{&v1.Platform{OS: "windows", Architecture: "amd64"}, "linux/amd64", false},
		{&v1.Platform{OS: "linux", Architecture: "x86_64"}, "linux/amd64", true},
		{&v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "linux/arm64", false},
		{nil, "linux/amd64", false},
	} {
		got, err := registry.MatchPlatform(tc.p, tc.want)
		if err != nil || got != tc.ok {
			t.Errorf("MatchPlatform(%v, %q) = %v, %v; want %v", tc.p, tc.want, got, err, tc.ok)
		}
	}
	for _, bad := range []string{"linux/", "arm64", "linux/arm/v7/x", ""} {
		if _, err := registry.MatchPlatform(nil, bad); !errors.Is(err, hallmark.ErrInvalid) {
			t.Errorf("MatchPlatform(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

func TestPlatformManifests(t *testing.T) {
	img := func(os, arch string, ann map[string]string) v1.Descriptor {
		return v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &v1.Platform{OS: os, Architecture: arch}, Annotations: ann}
	}
	m := &v1.IndexManifest{Manifests: []v1.Descriptor{
		img("linux", "amd64", nil),
		img("unknown", "unknown", map[string]string{"vnd.docker.reference.type": "attestation-manifest"}),
		{MediaType: types.OCIImageIndex},
		img("linux", "arm64", nil),
	}}
	got, err := registry.PlatformManifests(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Platform != "linux/amd64" || got[1].Platform != "linux/arm64" {
		t.Errorf("PlatformManifests = %+v", got)
	}
	if _, err := registry.PlatformManifests(&v1.IndexManifest{}); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("empty index: %v, want ErrInvalid", err)
	}
	many := &v1.IndexManifest{}
	for range registry.MaxPlatformManifests + 1 {
		many.Manifests = append(many.Manifests, img("linux", "amd64", nil))
	}
	if _, err := registry.PlatformManifests(many); !errors.Is(err, hallmark.ErrTooLarge) {
		t.Errorf("too many: %v, want ErrTooLarge", err)
	}
}
