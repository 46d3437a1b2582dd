package registry

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Docker Hub's registry goes by two names: "docker.io" to Docker and
// distribution's reference package (base images, their allowlist), and
// "index.docker.io" to go-containerregistry (tags, verified references).
const (
	dockerHub      = "docker.io"
	dockerHubIndex = name.DefaultRegistry // "index.docker.io"
)

// ReferenceRepository returns the repository, "registry/repository", of
// the image reference s (by tag or by digest), parsed as ParseReference
// parses it: "alpine:3.20" is "index.docker.io/library/alpine". Errors wrap
// hallmark.ErrInvalid.
func ReferenceRepository(s string) (string, error) {
	r, err := name.ParseReference(s)
	if err != nil {
		return "", fmt.Errorf("%w: %w", hallmark.ErrInvalid, err)
	}
	return r.Context().Name(), nil
}

// RepositoryNames returns every spelling of repository ("registry/path")
// that names the same repository, itself first: a Docker Hub repository is
// both "docker.io/library/alpine" and "index.docker.io/library/alpine", so
// that a pattern written either way matches it. Any other repository has
// one name.
func RepositoryNames(repository string) []string {
	host, rest, ok := strings.Cut(repository, "/")
	if !ok {
		return []string{repository}
	}
	switch host {
	case dockerHub:
		return []string{repository, dockerHubIndex + "/" + rest}
	case dockerHubIndex:
		return []string{repository, dockerHub + "/" + rest}
	}
	return []string{repository}
}

// NormalizeReference returns the full name of an image reference:
// "registry/repository:tag" or "registry/repository@sha256:…", with Docker
// Hub's defaults spelled out ("debian:12" is
// "index.docker.io/library/debian:12"), so that two spellings of one
// reference compare equal.
func NormalizeReference(s string) (string, error) {
	r, err := name.ParseReference(s)
	if err != nil {
		return "", fmt.Errorf("%w: %w", hallmark.ErrInvalid, err)
	}
	return r.Name(), nil
}
