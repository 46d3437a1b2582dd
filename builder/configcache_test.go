package builder

import (
	"context"
	"errors"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

func TestConfigCache(t *testing.T) {
	img, err := random.Image(64, 2)
	if err != nil {
		t.Fatal(err)
	}
	want, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	read := func(context.Context, string) ([]v1.Image, error) {
		reads++
		return []v1.Image{img}, nil
	}
	c := newConfigCache()
	for range 3 {
		got, err := c.images(t.Context(), "r/base@sha256:1", read)
		if err != nil || len(got) != 1 {
			t.Fatalf("images = %v, %v", got, err)
		}
		cfg, err := got[0].ConfigFile()
		if err != nil || len(cfg.RootFS.DiffIDs) != 2 || cfg.RootFS.DiffIDs[1] != want.RootFS.DiffIDs[1] {
			t.Fatalf("cached config %+v, %v; want the image's diff ids %v", cfg, err, want.RootFS.DiffIDs)
		}
	}
	if reads != 1 {
		t.Errorf("read the base %d times, want once", reads)
	}
	failing := func(context.Context, string) ([]v1.Image, error) { return nil, errors.New("registry down") }
	if _, err := c.images(t.Context(), "r/other@sha256:2", failing); err == nil {
		t.Fatal("a failed read was not returned")
	}
	if _, err := c.images(t.Context(), "r/other@sha256:2", read); err != nil || reads != 2 {
		t.Fatalf("after a failure the next call read %d times, %v: failures must not be cached", reads-1, err)
	}
}
