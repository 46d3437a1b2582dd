package main

import (
	"bytes"
	"errors"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/publish"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

func TestBundleReader(t *testing.T) {
	reg := registrytest.New(t)
	rc, err := registry.New(registry.WithInsecureHosts(reg.Host))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := reg.PushRandom(t, "team/app", "v1")
	bundle := registrytest.FakeBundle(t, `{"predicateType":"https://slsa.dev/provenance/v1"}`)
	referrer, err := publish.Publish(t.Context(), subject, bundle, hallmark.PredicateSLSAProvenanceV1, rc.RemoteOptions(t.Context())...)
	if err != nil {
		t.Fatal(err)
	}
	repo := reg.Host + "/team/app"
	got, err := bundleReader(rc, 1<<20)(t.Context(), repo, referrer)
	if err != nil || !bytes.Equal(got, bundle) {
		t.Fatalf("bundle %q, %v; want the published one", got, err)
	}
	if _, err := bundleReader(rc, 16)(t.Context(), repo, referrer); !errors.Is(err, hallmark.ErrTooLarge) {
		t.Errorf("over the limit: %v, want ErrTooLarge", err)
	}
	// The image itself is no referrer: its layers are not bundles.
	if _, err := bundleReader(rc, 1<<20)(t.Context(), repo, hallmark.Digest(subject.DigestStr())); !errors.Is(err, hallmark.ErrNotFound) {
		t.Errorf("not a referrer: %v, want ErrNotFound", err)
	}
}
