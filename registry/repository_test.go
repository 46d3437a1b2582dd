package registry_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

func TestReferenceRepository(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		ref, want string
	}{
		{"alpine", "index.docker.io/library/alpine"},
		{"alpine:3.20", "index.docker.io/library/alpine"},
		{"docker.io/library/alpine:3.20", "index.docker.io/library/alpine"},
		{"acme/app@" + digest, "index.docker.io/acme/app"},
		{"registry.example.com/teamb/private:v1", "registry.example.com/teamb/private"},
		{"127.0.0.1:5000/a/b/c@" + digest, "127.0.0.1:5000/a/b/c"},
		{"localhost:5000/app:v1@" + digest, "localhost:5000/app"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := registry.ReferenceRepository(tt.ref)
			if err != nil || got != tt.want {
				t.Errorf("ReferenceRepository(%q) = %q, %v; want %q", tt.ref, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "UPPER/Case::x", "a/b@sha256:12"} {
		if _, err := registry.ReferenceRepository(bad); !errors.Is(err, hallmark.ErrInvalid) {
			t.Errorf("ReferenceRepository(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestRepositoryNames(t *testing.T) {
	tests := []struct {
		repo string
		want []string
	}{
		{"docker.io/library/alpine", []string{"docker.io/library/alpine", "index.docker.io/library/alpine"}},
		{"index.docker.io/acme/app", []string{"index.docker.io/acme/app", "docker.io/acme/app"}},
		{"registry.example.com/teamb/private", []string{"registry.example.com/teamb/private"}},
		{"ghcr.io/docker.io/x", []string{"ghcr.io/docker.io/x"}},
		{"docker.io", []string{"docker.io"}},
	}
	for _, tt := range tests {
		if got := registry.RepositoryNames(tt.repo); !slices.Equal(got, tt.want) {
			t.Errorf("RepositoryNames(%q) = %q, want %q", tt.repo, got, tt.want)
		}
	}
}
