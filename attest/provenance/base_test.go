package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	slsav1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	"google.golang.org/protobuf/encoding/protojson"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/golden"
)

const baseSpecYAML = "apiVersion: hallmark.dev/v1\nkind: BaseImage\nmetadata: {name: static}\nspec: {packages: [netbase, base-files]}\n"

func baseBuildFixture() BaseBuild {
	started := time.Date(2026, 5, 20, 10, 0, 0, 0, time.UTC)
	return BaseBuild{
		Request: hallmark.BaseRequest{
			ID: "base-20260520T100000-abcdef01", Spec: []byte(baseSpecYAML),
			Repository: "registry.example.com/hallmark/static", Tags: []string{"registry.example.com/hallmark/static:v1"},
			Requester: hallmark.Identity{Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:acme/bases:ref:refs/heads/main",
				Claims: map[string]any{"repository": "acme/bases", "aud": "hallmark", "email": "alice@example.com"}},
		},
		Result: hallmark.BaseResult{
			Build: hallmark.BuildResult{
				ID: "base-20260520T100000-abcdef01", Digest: "sha256:44105f883c35edd8831ef4c9d0c6c5334ccec5c85f849e3cae5b7c8a4ad47711",
				Repository: "registry.example.com/hallmark/static", Started: started, Solved: started.Add(6 * time.Second),
			},
			Spec:         []byte(`{"apiVersion":"hallmark.dev/v1","kind":"BaseImage","metadata":{"name":"static"},"spec":{"packages":["netbase","base-files"]}}`),
			SpecDigest:   hallmark.SHA256([]byte(baseSpecYAML)),
			Architecture: "amd64",
			Sources:      []string{"http://deb.debian.org/debian bookworm/main amd64"},
			Packages: []hallmark.DebianPackage{
				{Name: "netbase", Version: "6.4", Architecture: "all", URI: "http://deb.debian.org/debian/pool/main/n/netbase/netbase_6.4_all.deb",
					SHA256: "sha256:0d5f444f594e48c1e16a41d8fc628a09b24c658916a1274025c2330f2a802bed", Size: 12800},
				{Name: "base-files", Version: "12.4+deb12u14", Architecture: "amd64", URI: "http://deb.debian.org/debian/pool/main/b/base-files/base-files_12.4%2bdeb12u14_amd64.deb",
					SHA256: "sha256:f6d54a67bcc56ec1698de8093ebd9dce8ad02cfb8828882be676e6f157f3f6b3", Size: 70940},
			},
		},
		BuilderID:       builderID,
		HallmarkVersion: "(devel)",
	}
}

func TestBasePredicateGolden(t *testing.T) {
	got, err := BasePredicate(baseBuildFixture())
	if err != nil {
		t.Fatalf("BasePredicate: %v", err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	indented.WriteByte('\n')
	golden.Check(t, filepath.Join("testdata", "debian-base.golden.json"), indented.Bytes())
	if bytes.Contains(got, []byte("alice@example.com")) {
		t.Error("the provenance carries an e-mail claim")
	}

	var p slsav1.Provenance
	if err := (protojson.UnmarshalOptions{}).Unmarshal(got, &p); err != nil {
		t.Fatalf("protojson: %v", err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("in-toto validate: %v", err)
	}
	parsed, err := ParseBase(got)
	if err != nil {
		t.Fatalf("ParseBase: %v", err)
	}
	deps := parsed.BuildDefinition.ResolvedDependencies
	if len(deps) != 2 || deps[0].Name != "base-files=12.4+deb12u14" || deps[1].Digest["sha256"] != "0d5f444f594e48c1e16a41d8fc628a09b24c658916a1274025c2330f2a802bed" {
		t.Errorf("dependencies = %+v, want sorted by name with sha256", deps)
	}
	if _, err := Parse(got); err == nil {
		t.Error("Parse (Dockerfile builds) accepts a base provenance")
	}
	if _, err := ParseBase(predicate(t, uploadBuild())); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("ParseBase of a Dockerfile provenance: %v, want ErrInvalid", err)
	}
}

func TestBasePredicateRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(*BaseBuild)
		want string
	}{
		{"no builder id", func(b *BaseBuild) { b.BuilderID = "" }, "builder id"},
		{"no id", func(b *BaseBuild) { b.Result.Build.ID = "" }, "build id is empty"},
		{"ids differ", func(b *BaseBuild) { b.Request.ID = "other" }, "differ"},
		{"no times", func(b *BaseBuild) { b.Result.Build.Solved = time.Time{} }, "no start or solve time"},
		{"no packages", func(b *BaseBuild) { b.Result.Packages = nil }, "installed no packages"},
		{"spec not json", func(b *BaseBuild) { b.Result.Spec = []byte("spec: yaml") }, "not a JSON object"},
		{"spec digest", func(b *BaseBuild) { b.Result.SpecDigest = hallmark.SHA256([]byte("other")) }, "is not the digest of the request's spec"},
		{"package digest", func(b *BaseBuild) { b.Result.Packages[0].SHA256 = "md5:x" }, "package netbase"},
		{"package uri", func(b *BaseBuild) { b.Result.Packages[1].URI = "file:///var/cache/x.deb" }, "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := baseBuildFixture()
			tt.edit(&b)
			if _, err := BasePredicate(b); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}
