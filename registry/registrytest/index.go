package registrytest

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PlatformImage returns an OCI image for platform ("linux/arm64") of one
// layer holding files (path → content), with the platform in its config.
func PlatformImage(t testing.TB, platform string, files map[string]string) v1.Image {
	t.Helper()
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	fm := make(map[string][]byte, len(files))
	for path, body := range files {
		fm[strings.TrimPrefix(path, "/")] = []byte(body)
	}
	layer, err := crane.Layer(fm)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1), layer)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	cfg.Config.User = "65532"
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// PlatformManifest is one platform of an index PushIndex wrote.
type PlatformManifest struct {
	Platform string
	Ref      name.Digest
}

// PushIndex writes an OCI image index of images (in order; each
// PlatformImage's platform is its index entry's) to repo like Push, and
// returns the index and its platform manifests by digest.
func (r *Registry) PushIndex(t testing.TB, repo, tag string, images ...v1.Image) (name.Digest, []PlatformManifest) {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var out []PlatformManifest
	for _, img := range images {
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		p := cfg.Platform()
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.NewDigest(r.Host + "/" + repo + "@" + d.String())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, PlatformManifest{Platform: p.String(), Ref: ref})
	}
	ref, _ := r.Push(t, repo, tag, idx)
	return ref, out
}
