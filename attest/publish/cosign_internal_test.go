package publish

import (
	"encoding/json"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// cosignReferrerManifest is cosign v3.1.3's referrerManifest
// (pkg/oci/remote/write.go).
type cosignReferrerManifest struct {
	v1.Manifest
	ArtifactType string `json:"artifactType,omitempty"`
}

// cosignManifest builds the manifest the way cosign v3.1.3's
// WriteAttestationNewBundleFormat and WriteReferrer do.
func cosignManifest(t *testing.T, subject *v1.Descriptor, bundle []byte, predicateType string, created time.Time) []byte {
	t.Helper()
	configLayer := static.NewLayer([]byte("{}"), "application/vnd.oci.image.config.v1+json")
	configDigest, err := configLayer.Digest()
	if err != nil {
		t.Fatal(err)
	}
	configSize, err := configLayer.Size()
	if err != nil {
		t.Fatal(err)
	}
	bundleMediaType := "application/vnd.dev.sigstore.bundle.v0.3+json"
	layer := static.NewLayer(bundle, types.MediaType(bundleMediaType))
	layerDigest, err := layer.Digest()
	if err != nil {
		t.Fatal(err)
	}
	layerSize, err := layer.Size()
	if err != nil {
		t.Fatal(err)
	}
	m := cosignReferrerManifest{v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config: v1.Descriptor{
			MediaType:    types.MediaType("application/vnd.oci.empty.v1+json"),
			ArtifactType: bundleMediaType,
			Digest:       configDigest,
			Size:         configSize,
		},
		Layers: []v1.Descriptor{{MediaType: types.MediaType(bundleMediaType), Digest: layerDigest, Size: layerSize}},
		Subject: &v1.Descriptor{
			MediaType: subject.MediaType,
			Digest:    subject.Digest,
			Size:      subject.Size,
		},
		Annotations: map[string]string{
			"org.opencontainers.image.created":  created.UTC().Format(time.RFC3339),
			"dev.sigstore.bundle.content":       "dsse-envelope",
			"dev.sigstore.bundle.predicateType": predicateType,
		},
	}, bundleMediaType}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestManifestMatchesCosign checks that the referrer manifest is byte for
// byte the one cosign v3 writes for the same bundle, subject and time.
func TestManifestMatchesCosign(t *testing.T) {
	created := time.Date(2026, 3, 4, 5, 6, 7, 890, time.FixedZone("CET", 3600))
	tests := []struct {
		name    string
		subject v1.Descriptor
	}{
		{"oci manifest", v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: v1.Hash{Algorithm: "sha256", Hex: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}, Size: 1234}},
		{"docker manifest", v1.Descriptor{MediaType: types.DockerManifestSchema2, Digest: v1.Hash{Algorithm: "sha256", Hex: "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"}, Size: 527}},
		{"oci index", v1.Descriptor{MediaType: types.OCIImageIndex, Digest: v1.Hash{Algorithm: "sha256", Hex: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}, Size: 9}},
	}
	bundle := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{}}`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := referrerManifest(&tt.subject, bundle, "https://slsa.dev/provenance/v1", created, nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := cosignManifest(t, &tt.subject, bundle, "https://slsa.dev/provenance/v1", created); string(got) != string(want) {
				t.Fatalf("manifest\n%s\ncosign v3 writes\n%s", got, want)
			}
		})
	}
}

// TestManifestHintsOnlyAdd checks that Hallmark's hint annotations are the
// only difference from cosign's manifest.
func TestManifestHintsOnlyAdd(t *testing.T) {
	created := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	subject := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: v1.Hash{Algorithm: "sha256", Hex: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}, Size: 1234}
	bundle := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{}}`)
	hints := map[string]string{"dev.hallmark.signer.identity": "https://ci.example/builder", "dev.hallmark.bundle.digest": "sha256:00"}
	got, err := referrerManifest(&subject, bundle, "https://slsa.dev/provenance/v1", created, hints)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	ann := m["annotations"].(map[string]any)
	for k, v := range hints {
		if ann[k] != v {
			t.Errorf("annotation %s = %v, want %s", k, ann[k], v)
		}
		delete(ann, k)
	}
	var want map[string]any
	if err := json.Unmarshal(cosignManifest(t, &subject, bundle, "https://slsa.dev/provenance/v1", created), &want); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(m)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Fatalf("without the hints the manifest is\n%s\ncosign v3 writes\n%s", a, b)
	}
}
