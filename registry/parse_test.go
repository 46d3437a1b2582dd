package registry_test

import (
	"errors"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// TestParseInsecure: every Parse method applies the same insecure rule
// that builder, attest and verify used to apply each on its own.
func TestParseInsecure(t *testing.T) {
	c, err := registry.New(registry.WithInsecureHosts("registry.test:5000", "plain.example"))
	if err != nil {
		t.Fatal(err)
	}
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	parsers := map[string]func(string) (name.Registry, error){
		"reference": func(s string) (name.Registry, error) {
			r, err := c.ParseReference(s)
			if err != nil {
				return name.Registry{}, err
			}
			return r.Context().Registry, nil
		},
		"tag": func(s string) (name.Registry, error) {
			r, err := c.ParseTag(s)
			return r.Registry, err
		},
		"digest": func(s string) (name.Registry, error) {
			r, err := c.ParseDigest(s + "@" + digest)
			return r.Registry, err
		},
		"repository": func(s string) (name.Registry, error) {
			r, err := c.ParseRepository(s)
			return r.Registry, err
		},
	}
	tests := []struct {
		repo   string
		scheme string
	}{
		{"registry.test:5000/team/app", "http"},
		{"plain.example/app", "http"},
		{"registry.test/team/app", "https"},      // another port is another host
		{"registry.test:5001/team/app", "https"}, // another port is another host
		{"ghcr.io/team/app", "https"},
		{"app", "https"},                       // Docker Hub
		{"127.0.0.1:5000/app", "http"},         // loopback: go-containerregistry's own rule
		{"localhost:5000/team/app", "http"},    // localhost: likewise
		{"192.168.1.10:5000/team/app", "http"}, // private address: likewise
	}
	for kind, parse := range parsers {
		for _, tt := range tests {
			t.Run(kind+"/"+tt.repo, func(t *testing.T) {
				reg, err := parse(tt.repo)
				if err != nil {
					t.Fatal(err)
				}
				if reg.Scheme() != tt.scheme {
					t.Fatalf("%s %s: scheme %s, want %s", kind, tt.repo, reg.Scheme(), tt.scheme)
				}
			})
		}
	}
	for _, host := range []string{"registry.test:5000", "plain.example"} {
		if !c.IsInsecure(host) {
			t.Errorf("IsInsecure(%q) = false", host)
		}
	}
	for _, host := range []string{"registry.test", "127.0.0.1:5000", "ghcr.io", ""} {
		if c.IsInsecure(host) {
			t.Errorf("IsInsecure(%q) = true", host)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	c, err := registry.New()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		parse func() error
	}{
		{"reference", func() error { _, err := c.ParseReference("UPPER/Case::x"); return err }},
		{"empty reference", func() error { _, err := c.ParseReference(""); return err }},
		{"tag", func() error { _, err := c.ParseTag("app@sha256:00"); return err }},
		{"digest", func() error { _, err := c.ParseDigest("app:v1"); return err }},
		{"repository", func() error { _, err := c.ParseRepository("app:v1"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.parse(); !errors.Is(err, hallmark.ErrInvalid) {
				t.Fatalf("parse = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestInsecureHostsNormalized: Docker Hub's names all name one host.
func TestInsecureHostsNormalized(t *testing.T) {
	c, err := registry.New(registry.WithInsecureHosts("docker.io"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.ParseReference("index.docker.io/library/alpine:3")
	if err != nil {
		t.Fatal(err)
	}
	if r.Context().Scheme() != "http" || !c.IsInsecure("index.docker.io") || !c.IsInsecure("docker.io") || c.IsInsecure("") {
		t.Fatalf("docker.io as an insecure host: scheme %s", r.Context().Scheme())
	}
}

func TestTagRepository(t *testing.T) {
	for _, tt := range []struct{ tag, repo string }{
		{"reg.example/team/app:v1", "reg.example/team/app"},
		{"127.0.0.1:5000/app:dev", "127.0.0.1:5000/app"},
		{"app:v1", ""},                     // no registry: strict parsing refuses defaults
		{"reg.example/team/app", ""},       // no tag
		{"reg.example/app@sha256:abc", ""}, // a digest is not a tag
	} {
		got, err := registry.TagRepository(tt.tag)
		if (err == nil) != (tt.repo != "") || got != tt.repo {
			t.Errorf("TagRepository(%q) = %q, %v; want %q", tt.tag, got, err, tt.repo)
		}
	}
}
