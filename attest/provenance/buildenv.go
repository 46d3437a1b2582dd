package provenance

import (
	"fmt"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/util/purl"
	packageurl "github.com/package-url/packageurl-go"

	hallmark "github.com/hallmark-dev/hallmark"
)

// frontendDependency is the resolved dependency of the build's frontend:
// BuildKit's built-in Dockerfile frontend, or the "# syntax=" frontend
// image, which must be a reference pinned by a sha256 digest
// ("docker.io/docker/dockerfile:1.7@sha256:…"); it is written like a base
// image, as a purl with its digest.
func frontendDependency(res hallmark.BuildResult) (ResourceDescriptor, error) {
	if res.Frontend == FrontendDockerfile {
		return builtinFrontendDependency(res.BuildKit), nil
	}
	named, err := reference.ParseNormalizedNamed(res.Frontend)
	if err != nil {
		return ResourceDescriptor{}, fmt.Errorf("frontend %q is neither %q nor an image reference: %w", hallmark.Clip(res.Frontend, 200), FrontendDockerfile, err)
	}
	c, ok := named.(reference.Canonical)
	if !ok || c.Digest().Algorithm() != "sha256" {
		return ResourceDescriptor{}, fmt.Errorf("frontend image %q is not pinned by a sha256 digest", hallmark.Clip(res.Frontend, 200))
	}
	uri, err := purl.RefToPURL(packageurl.TypeDocker, res.Frontend, nil)
	if err != nil {
		return ResourceDescriptor{}, fmt.Errorf("frontend image %q: %w", hallmark.Clip(res.Frontend, 200), err)
	}
	return ResourceDescriptor{Name: DependencyFrontend, URI: uri, Digest: map[string]string{"sha256": c.Digest().Encoded()}}, nil
}

// tenancy is what the gateway decided from the build's authorization.
type tenancy struct {
	CacheScope string
	Network    string
}

// tenancyParameters checks the cache scope and network of res. Both may
// be empty (a result from before they existed), and are then left out.
func tenancyParameters(res hallmark.BuildResult) (tenancy, error) {
	switch res.Network {
	case "", hallmark.NetworkDefault, hallmark.NetworkNone:
	default:
		return tenancy{}, fmt.Errorf("network %q is not %s or %s", hallmark.Clip(res.Network, 80), hallmark.NetworkDefault, hallmark.NetworkNone)
	}
	return tenancy{CacheScope: res.CacheScope, Network: res.Network}, nil
}
