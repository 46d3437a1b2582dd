package verify_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/publish"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
	"github.com/hallmark-dev/hallmark/verify"
)

// newRegistry serves an in-process registry, with or without the
// referrers API.
func newRegistry(t testing.TB, referrers bool) *registrytest.Registry {
	t.Helper()
	return registrytest.New(t, registrytest.WithReferrersAPI(referrers))
}

// pushRawReferrer pushes a referrer of subject with one layer of the given
// media type and content, in the bundle referrer layout, and returns its
// digest.
func pushRawReferrer(t *testing.T, subject name.Digest, subjectDesc v1.Descriptor, layerType string, content []byte) string {
	t.Helper()
	repo := subject.Context()
	for _, l := range []v1.Layer{static.NewLayer([]byte("{}"), registry.MediaTypeEmpty), static.NewLayer(content, types.MediaType(layerType))} {
		if err := remote.WriteLayer(repo, l, remote.WithContext(t.Context())); err != nil {
			t.Fatal(err)
		}
	}
	h, err := v1.NewHash(hallmark.SHA256(content).String())
	if err != nil {
		t.Fatal(err)
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: registry.MediaTypeEmpty, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.TrimPrefix(registrytest.EmptyDigest, "sha256:")}, Size: 2},
		Layers:        []v1.Descriptor{{MediaType: types.MediaType(layerType), Digest: h, Size: int64(len(content))}},
		Subject:       &subjectDesc,
		ArtifactType:  layerType,
		Annotations:   map[string]string{registry.AnnotationPredicateType: hallmark.PredicateSLSAProvenanceV1, registry.AnnotationCreated: time.Now().UTC().Format(time.RFC3339)},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(repo.Digest(hallmark.SHA256(raw).String()), registry.OCIManifest(raw), remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	return hallmark.SHA256(raw).String()
}

// TestListSkipsOtherReferrers pushes referrers that are not Sigstore bundle
// referrers of the subject next to one that is.
func TestListSkipsOtherReferrers(t *testing.T) {
	for _, mode := range registrytest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			reg := newRegistry(t, mode.Referrers)
			subject, subjectDesc := reg.PushRandom(t, "app", "latest")
			want, err := publish.Publish(t.Context(), subject, registrytest.FakeBundle(t, "x"), hallmark.PredicateSPDX)
			if err != nil {
				t.Fatal(err)
			}
			others := []struct {
				artifactType string
				layers       []string
			}{
				{"application/spdx+json", []string{"application/spdx+json"}},                                      // another artifact type
				{registry.BundleArtifactType, []string{registry.BundleArtifactType, registry.BundleArtifactType}}, // two layers
				{"", []string{"application/vnd.oci.image.layer.v1.tar+gzip"}},                                     // an image
			}
			for i, o := range others {
				pushReferrer(t, subject, subjectDesc, o.artifactType, o.layers, i)
			}
			idx, err := remote.Referrers(subject, remote.WithContext(t.Context()))
			if err != nil {
				t.Fatal(err)
			}
			if im, err := idx.IndexManifest(); err != nil || len(im.Manifests) != 1+len(others) {
				t.Fatalf("registry lists %v referrers (%v), want %d", im, err, 1+len(others))
			}
			refs, err := verify.List(t.Context(), subject)
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) != 1 || refs[0].Digest != want {
				t.Fatalf("List = %+v, want only %s", refs, want)
			}
		})
	}
}

func pushReferrer(t *testing.T, subject name.Digest, subjectDesc v1.Descriptor, artifactType string, layerTypes []string, seed int) {
	t.Helper()
	repo := subject.Context()
	config := static.NewLayer([]byte("{}"), registry.MediaTypeEmpty)
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: registry.MediaTypeEmpty, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.TrimPrefix(registrytest.EmptyDigest, "sha256:")}, Size: 2},
		Subject:       &subjectDesc,
		ArtifactType:  artifactType,
	}
	layers := []v1.Layer{config}
	for i, lt := range layerTypes {
		content := fmt.Appendf(nil, "layer %d/%d", seed, i)
		l := static.NewLayer(content, types.MediaType(lt))
		layers = append(layers, l)
		h, err := v1.NewHash(hallmark.SHA256(content).String())
		if err != nil {
			t.Fatal(err)
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.MediaType(lt), Digest: h, Size: int64(len(content))})
	}
	for _, l := range layers {
		if err := remote.WriteLayer(repo, l, remote.WithContext(t.Context())); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(repo.Digest(hallmark.SHA256(raw).String()), registry.OCIManifest(raw), remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
}

func TestFetchRejects(t *testing.T) {
	reg := newRegistry(t, true)
	subject, _ := reg.PushRandom(t, "app", "latest")
	bundle := registrytest.FakeBundle(t, "x")
	if _, err := publish.Publish(t.Context(), subject, bundle, hallmark.PredicateSPDX); err != nil {
		t.Fatal(err)
	}
	refs, err := verify.List(t.Context(), subject)
	if err != nil || len(refs) != 1 {
		t.Fatalf("List = %v, %v", refs, err)
	}
	good := refs[0]
	tests := []struct {
		name   string
		modify func(*verify.Referrer)
		want   error
	}{
		{"declared too large", func(r *verify.Referrer) { r.BundleSize = registry.MaxBundleSize + 1 }, hallmark.ErrTooLarge},
		{"size mismatch", func(r *verify.Referrer) { r.BundleSize-- }, hallmark.ErrInvalid},
		{"missing blob", func(r *verify.Referrer) { r.BundleDigest = hallmark.Digest("sha256:" + strings.Repeat("1", 64)) }, hallmark.ErrNotFound},
		{"bad digest", func(r *verify.Referrer) { r.BundleDigest = "md5:x" }, hallmark.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.modify(&r)
			b, err := verify.Fetch(t.Context(), r)
			if !errors.Is(err, tt.want) || b != nil {
				t.Fatalf("Fetch = %d bytes, %v; want %v", len(b), err, tt.want)
			}
		})
	}
}

func TestListRegistryUnavailable(t *testing.T) {
	if _, err := verify.List(t.Context(), registrytest.Unreachable(t), registrytest.NoRetry()); !errors.Is(err, hallmark.ErrUnavailable) {
		t.Errorf("List error = %v, want ErrUnavailable", err)
	}
}
