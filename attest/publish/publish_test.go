package publish_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/publish"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
	"github.com/hallmark-dev/hallmark/verify"
)

// testRegistry is an in-process registry counting manifest PUTs.
type testRegistry struct {
	*registrytest.Registry
	manifests atomic.Int64
}

func newRegistry(t *testing.T, referrers bool) *testRegistry {
	t.Helper()
	r := &testRegistry{Registry: registrytest.New(t, registrytest.WithReferrersAPI(referrers))}
	r.SetHook(func(_ http.ResponseWriter, req *http.Request) bool {
		if req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/manifests/") {
			r.manifests.Add(1)
		}
		return false
	})
	return r
}

// TestPublishManifest checks the referrer manifest field by field against
// what cosign v3 writes, and the fallback tag.
func TestPublishManifest(t *testing.T) {
	for _, mode := range registrytest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			reg := newRegistry(t, mode.Referrers)
			subject, subjectDesc := reg.PushRandom(t, "app", "latest")
			bundle := registrytest.FakeBundle(t, `{"_type":"https://in-toto.io/Statement/v1"}`)
			before := time.Now().UTC().Truncate(time.Second)

			d, err := publish.Publish(t.Context(), subject, bundle, hallmark.PredicateSLSAProvenanceV1)
			if err != nil {
				t.Fatalf("Publish: %v", err)
			}
			ref := subject.Context().Digest(string(d))
			got, err := remote.Get(ref, remote.WithContext(t.Context()))
			if err != nil {
				t.Fatalf("get referrer manifest: %v", err)
			}
			if hallmark.SHA256(got.Manifest).String() != string(d) || got.MediaType != types.OCIManifestSchema1 {
				t.Fatalf("referrer %s is %s with media type %s", d, hallmark.SHA256(got.Manifest).String(), got.MediaType)
			}

			var fields map[string]json.RawMessage
			if err := json.Unmarshal(got.Manifest, &fields); err != nil {
				t.Fatal(err)
			}
			wantKeys := []string{"annotations", "artifactType", "config", "layers", "mediaType", "schemaVersion", "subject"}
			if keys := slices.Sorted(maps.Keys(fields)); !slices.Equal(keys, wantKeys) {
				t.Errorf("manifest keys = %v, want %v", keys, wantKeys)
			}
			type desc struct {
				MediaType    string            `json:"mediaType"`
				Digest       string            `json:"digest"`
				Size         int64             `json:"size"`
				ArtifactType string            `json:"artifactType"`
				Data         []byte            `json:"data"`
				Annotations  map[string]string `json:"annotations"`
			}
			var m struct {
				SchemaVersion int               `json:"schemaVersion"`
				MediaType     string            `json:"mediaType"`
				ArtifactType  string            `json:"artifactType"`
				Config        desc              `json:"config"`
				Layers        []desc            `json:"layers"`
				Subject       desc              `json:"subject"`
				Annotations   map[string]string `json:"annotations"`
			}
			if err := json.Unmarshal(got.Manifest, &m); err != nil {
				t.Fatal(err)
			}
			checks := []struct {
				field     string
				got, want any
			}{
				{"schemaVersion", m.SchemaVersion, 2},
				{"mediaType", m.MediaType, "application/vnd.oci.image.manifest.v1+json"},
				{"artifactType", m.ArtifactType, "application/vnd.dev.sigstore.bundle.v0.3+json"},
				{"config", m.Config, desc{MediaType: "application/vnd.oci.empty.v1+json", Digest: registrytest.EmptyDigest, Size: 2, ArtifactType: "application/vnd.dev.sigstore.bundle.v0.3+json"}},
				{"len(layers)", len(m.Layers), 1},
				{"layers[0]", m.Layers[0], desc{MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", Digest: hallmark.SHA256(bundle).String(), Size: int64(len(bundle))}},
				{"subject", m.Subject, desc{MediaType: string(subjectDesc.MediaType), Digest: subject.DigestStr(), Size: subjectDesc.Size}},
				{"len(annotations)", len(m.Annotations), 4},
				{"annotations[bundle digest]", m.Annotations["dev.hallmark.bundle.digest"], hallmark.SHA256(bundle).String()},
				{"annotations[content]", m.Annotations["dev.sigstore.bundle.content"], "dsse-envelope"},
				{"annotations[predicateType]", m.Annotations["dev.sigstore.bundle.predicateType"], hallmark.PredicateSLSAProvenanceV1},
			}
			for _, c := range checks {
				if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
					t.Errorf("%s = %+v, want %+v", c.field, c.got, c.want)
				}
			}
			created, err := time.Parse(time.RFC3339, m.Annotations["org.opencontainers.image.created"])
			if err != nil || !strings.HasSuffix(m.Annotations["org.opencontainers.image.created"], "Z") || created.Before(before) || created.After(time.Now().Add(time.Second)) {
				t.Errorf("created = %q, want RFC 3339 UTC around now (%v)", m.Annotations["org.opencontainers.image.created"], err)
			}

			for digest, want := range map[string][]byte{registrytest.EmptyDigest: []byte("{}"), hallmark.SHA256(bundle).String(): bundle} {
				l, err := remote.Layer(subject.Context().Digest(digest), remote.WithContext(t.Context()))
				if err != nil {
					t.Fatal(err)
				}
				rc, err := l.Compressed()
				if err != nil {
					t.Fatalf("blob %s: %v", digest, err)
				}
				b := make([]byte, len(want)+1)
				n, _ := rc.Read(b)
				_ = rc.Close()
				if string(b[:n]) != string(want) {
					t.Errorf("blob %s = %q, want %q", digest, b[:n], want)
				}
			}

			checkFallbackTag(t, subject, d, mode.Referrers, m.Annotations)

			refs, err := verify.List(t.Context(), subject)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(refs) != 1 {
				t.Fatalf("List found %d referrers, want 1", len(refs))
			}
			r := refs[0]
			if r.Digest != d || r.Ref.String() != ref.String() || r.ArtifactType != registry.BundleArtifactType ||
				r.PredicateType != hallmark.PredicateSLSAProvenanceV1 || r.BundleDigest != hallmark.SHA256(bundle) ||
				r.BundleSize != int64(len(bundle)) || r.BundleMediaType != hallmark.MediaTypeBundleV03 || !r.Created.Equal(created) ||
				!maps.Equal(r.Annotations, m.Annotations) {
				t.Errorf("List()[0] = %+v", r)
			}
			b, err := verify.Fetch(t.Context(), r)
			if err != nil || string(b) != string(bundle) {
				t.Fatalf("Fetch = %q, %v; want the bundle", b, err)
			}
		})
	}
}

// checkFallbackTag checks that the sha256-<hex> tag lists the referrer when
// the registry has no referrers API, and does not exist when it has one.
func checkFallbackTag(t *testing.T, subject name.Digest, referrer hallmark.Digest, api bool, annotations map[string]string) {
	t.Helper()
	tag := registry.FallbackTag(subject)
	got, err := remote.Get(tag, remote.WithContext(t.Context()))
	if api {
		var terr *transport.Error
		if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
			t.Errorf("fallback tag %s with the referrers API: %v, want 404", tag, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("fallback tag %s: %v", tag, err)
	}
	if got.MediaType != types.OCIImageIndex {
		t.Fatalf("fallback tag media type %s", got.MediaType)
	}
	im, err := v1.ParseIndexManifest(strings.NewReader(string(got.Manifest)))
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("fallback index has %d entries, want 1", len(im.Manifests))
	}
	e := im.Manifests[0]
	if e.Digest.String() != string(referrer) || e.MediaType != types.OCIManifestSchema1 ||
		e.ArtifactType != registry.BundleArtifactType || !maps.Equal(e.Annotations, annotations) {
		t.Errorf("fallback index entry = %+v", e)
	}
}

func TestPublishIdempotent(t *testing.T) {
	for _, mode := range registrytest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			reg := newRegistry(t, mode.Referrers)
			subject, _ := reg.PushRandom(t, "app", "latest")
			sbom := registrytest.FakeBundle(t, "sbom")
			prov := registrytest.FakeBundle(t, "provenance")

			first, err := publish.Publish(t.Context(), subject, sbom, hallmark.PredicateSPDX)
			if err != nil {
				t.Fatal(err)
			}
			puts := reg.manifests.Load()
			again, err := publish.Publish(t.Context(), subject, sbom, hallmark.PredicateSPDX)
			if err != nil {
				t.Fatal(err)
			}
			if again != first || reg.manifests.Load() != puts {
				t.Fatalf("second Publish = %s with %d more manifest PUTs, want %s and none", again, reg.manifests.Load()-puts, first)
			}
			second, err := publish.Publish(t.Context(), subject, prov, hallmark.PredicateSLSAProvenanceV1)
			if err != nil {
				t.Fatal(err)
			}
			if second == first {
				t.Fatal("a different bundle got the same referrer")
			}
			refs, err := verify.List(t.Context(), subject)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]hallmark.Digest{}
			for _, r := range refs {
				got[r.PredicateType] = r.Digest
			}
			want := map[string]hallmark.Digest{hallmark.PredicateSPDX: first, hallmark.PredicateSLSAProvenanceV1: second}
			if len(refs) != 2 || !maps.Equal(got, want) {
				t.Fatalf("List = %v, want %v", got, want)
			}
		})
	}
}

func TestPublishMissingSubject(t *testing.T) {
	for _, mode := range registrytest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			reg := newRegistry(t, mode.Referrers)
			reg.PushRandom(t, "app", "latest") // the repository exists, the digest does not
			missing, err := name.NewDigest(reg.Host + "/app@sha256:" + strings.Repeat("0", 64))
			if err != nil {
				t.Fatal(err)
			}
			d, err := publish.Publish(t.Context(), missing, registrytest.FakeBundle(t, "x"), hallmark.PredicateSPDX)
			if !errors.Is(err, hallmark.ErrNotFound) || d != "" {
				t.Fatalf("Publish = %q, %v; want ErrNotFound", d, err)
			}
			if !strings.Contains(err.Error(), missing.DigestStr()) || !strings.Contains(err.Error(), "subject") {
				t.Errorf("error %q does not name the missing subject", err)
			}
			t.Log(err)
			refs, err := verify.List(t.Context(), missing)
			if err != nil || len(refs) != 0 {
				t.Errorf("List of a missing subject = %v, %v; want none", refs, err)
			}
		})
	}
}

func TestPublishRejects(t *testing.T) {
	reg := newRegistry(t, true)
	subject, _ := reg.PushRandom(t, "app", "latest")
	before := reg.Requests()
	tests := []struct {
		name          string
		bundle        string
		predicateType string
		want          error
	}{
		{"no predicate type", string(registrytest.FakeBundle(t, "x")), "", hallmark.ErrInvalid},
		{"not json", "{", hallmark.PredicateSPDX, hallmark.ErrInvalid},
		{"bundle v0.2", `{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.2","dsseEnvelope":{}}`, hallmark.PredicateSPDX, hallmark.ErrInvalid},
		{"message signature", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{}}`, hallmark.PredicateSPDX, hallmark.ErrInvalid},
		{"too large", strings.Repeat(" ", registry.MaxBundleSize+1), hallmark.PredicateSPDX, hallmark.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := publish.Publish(t.Context(), subject, []byte(tt.bundle), tt.predicateType)
			if !errors.Is(err, tt.want) || d != "" {
				t.Fatalf("Publish = %q, %v; want %v", d, err, tt.want)
			}
		})
	}
	if n := reg.Requests() - before; n != 0 {
		t.Errorf("rejected bundles made %d registry requests", n)
	}
}

func TestRegistryUnavailable(t *testing.T) {
	_, err := publish.Publish(t.Context(), registrytest.Unreachable(t), registrytest.FakeBundle(t, "x"), hallmark.PredicateSPDX, registrytest.NoRetry())
	if !errors.Is(err, hallmark.ErrUnavailable) {
		t.Errorf("Publish error = %v, want ErrUnavailable", err)
	}
	t.Log(err)
}

// TestRegistryRefusesAccess: a refusal is ErrPermissionDenied, as it is for
// builder and verify (registry.Error).
func TestRegistryRefusesAccess(t *testing.T) {
	reg := newRegistry(t, true)
	subject, _ := reg.PushRandom(t, "app", "latest")
	for _, path := range []string{"/manifests/", "/blobs/"} {
		t.Run(strings.Trim(path, "/"), func(t *testing.T) {
			reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
				if strings.Contains(r.URL.Path, path) && (path != "/manifests/" || r.Method == http.MethodHead) {
					http.Error(w, `{"errors":[{"code":"DENIED","message":"no"}]}`, http.StatusForbidden)
					return true
				}
				return false
			})
			_, err := publish.Publish(t.Context(), subject, registrytest.FakeBundle(t, path), hallmark.PredicateSPDX, registrytest.Client(t).RemoteOptions(t.Context())...)
			if !errors.Is(err, hallmark.ErrPermissionDenied) {
				t.Fatalf("Publish error = %v, want ErrPermissionDenied", err)
			}
		})
	}
}

// TestPublishAll publishes a build's bundles in one call: every one is
// listed afterwards (the fallback tag lost none), digests come back in
// order, and an index entry whose hints claim a bundle it does not hold
// does not stop that bundle from being published.
func TestPublishAll(t *testing.T) {
	for _, mode := range registrytest.Modes {
		t.Run(mode.Name, func(t *testing.T) {
			reg := newRegistry(t, mode.Referrers)
			subject, _ := reg.PushRandom(t, "app", "latest")
			bundles := []publish.Bundle{
				{Data: registrytest.FakeBundle(t, "sbom"), PredicateType: hallmark.PredicateSPDX},
				{Data: registrytest.FakeBundle(t, "provenance"), PredicateType: hallmark.PredicateSLSAProvenanceV1},
				{Data: registrytest.FakeBundle(t, "scan"), PredicateType: hallmark.PredicateVulns},
			}
			// A referrer that claims to hold the scan bundle but holds another.
			decoy := registrytest.FakeBundle(t, "decoy")
			decoyDigest, err := publish.Publish(t.Context(), subject, decoy, hallmark.PredicateVulns)
			if err != nil {
				t.Fatal(err)
			}
			forgeHint(t, subject, decoyDigest, hallmark.SHA256(bundles[2].Data).String())

			ds, err := publish.PublishAll(t.Context(), subject, bundles)
			if err != nil {
				t.Fatal(err)
			}
			refs, err := verify.List(t.Context(), subject)
			if err != nil {
				t.Fatal(err)
			}
			byDigest := map[hallmark.Digest]verify.Referrer{}
			for _, r := range refs {
				byDigest[r.Digest] = r
			}
			for i, b := range bundles {
				r, ok := byDigest[ds[i]]
				if !ok || r.BundleDigest != hallmark.SHA256(b.Data) || r.PredicateType != b.PredicateType {
					t.Errorf("bundle %d (%s): referrer %s = %+v listed %v", i, b.PredicateType, ds[i], r, ok)
				}
			}
			again, err := publish.PublishAll(t.Context(), subject, bundles)
			if err != nil || !slices.Equal(again, ds) {
				t.Errorf("PublishAll again = %v, %v; want the same referrers %v", again, err, ds)
			}
		})
	}
}

// forgeHint pushes a copy of the referrer manifest d with its bundle digest
// hint set to claim, as someone with push access could.
func forgeHint(t *testing.T, subject name.Digest, d hallmark.Digest, claim string) {
	t.Helper()
	got, err := remote.Get(subject.Context().Digest(string(d)), remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(got.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	m["annotations"].(map[string]any)["dev.hallmark.bundle.digest"] = claim
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := v1.SHA256(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(subject.Context().Digest(h.String()), registry.OCIManifest(raw), remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
}
