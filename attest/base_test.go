package attest

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/provenance"
)

// TestAttestBase attests a base image whose only package database is a
// distroless status.d: the SBOM lists that package and the provenance is
// of the Debian base build type.
func TestAttestBase(t *testing.T) {
	a, _, buildReq, _, v := fixture(t, true)
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	control := "Package: netbase\nVersion: 6.4\nArchitecture: all\nMaintainer: x\nDescription: net\n"
	for _, f := range []struct{ name, body string }{{"etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"}, {"var/lib/dpkg/status.d/netbase", control}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), static.NewLayer(layer.Bytes(), types.OCIUncompressedLayer))
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	repo := strings.Split(buildReq.Repository, "/")[0] + "/team/base"
	ref, err := name.NewDigest(repo+"@"+d.String(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	spec := []byte("apiVersion: hallmark.dev/v1\nkind: BaseImage\nmetadata: {name: n}\nspec: {packages: [netbase]}\n")
	req := hallmark.BaseRequest{ID: "base-test", Requester: hallmark.Identity{Issuer: "https://issuer.example", Subject: "ci"}, Spec: spec, Repository: repo, Tags: []string{repo + ":v1"}}
	res := hallmark.BaseResult{
		Build: hallmark.BuildResult{ID: "base-test", Digest: hallmark.Digest(d.String()), Repository: repo, Pinned: ref.String()},
		Spec:  []byte(`{"spec":{"packages":["netbase"]}}`), SpecDigest: hallmark.SHA256(spec), Architecture: "amd64",
		Packages: []hallmark.DebianPackage{{Name: "netbase", Version: "6.4", Architecture: "all", URI: "http://deb.example/netbase_6.4_all.deb",
			SHA256: hallmark.SHA256([]byte("deb")), Size: 3}},
	}
	res.Build.Solved = time.Now().UTC()
	res.Build.Started = res.Build.Solved.Add(-time.Second)
	atts, err := a.AttestBase(t.Context(), req, res, nil)
	if err != nil || len(atts) != 2 {
		t.Fatalf("AttestBase: %v, %d attestations", err, len(atts))
	}
	got, err := v.Image(t.Context(), ref.String())
	if err != nil {
		t.Fatal(err)
	}
	provs, sboms := got.Verified(hallmark.PredicateSLSAProvenanceV1), got.Verified(hallmark.PredicateSPDX)
	if len(provs) != 1 || len(sboms) != 1 {
		t.Fatalf("verified: %d provenance, %d SBOM", len(provs), len(sboms))
	}
	p, err := provenance.ParseBase(provs[0].Statement.Predicate)
	if err != nil || p.BuildDefinition.ResolvedDependencies[0].Name != "netbase=6.4" {
		t.Fatalf("provenance: %v, %+v", err, p)
	}
	var doc struct {
		Packages []struct{ Name, VersionInfo string } `json:"packages"`
	}
	if err := json.Unmarshal(sboms[0].Statement.Predicate, &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, pkg := range doc.Packages {
		names = append(names, pkg.Name+"="+pkg.VersionInfo)
	}
	if !strings.Contains(strings.Join(names, " "), "netbase=6.4") {
		t.Errorf("SBOM packages %v lack netbase=6.4", names)
	}
}
