package registry

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	hallmark "github.com/hallmark-dev/hallmark"
)

// ParseReference parses an image reference (by tag or by digest), for
// plain HTTP if its registry is an insecure host. Errors wrap
// hallmark.ErrInvalid.
func (c *Client) ParseReference(s string) (name.Reference, error) {
	return parse(c, s, name.ParseReference, func(r name.Reference) string { return r.Context().RegistryStr() })
}

// ParseTag parses "registry/repository:tag" (":latest" when no tag is
// given) like ParseReference.
func (c *Client) ParseTag(s string) (name.Tag, error) {
	return parse(c, s, name.NewTag, name.Tag.RegistryStr)
}

// ParseDigest parses "registry/repository@sha256:<hex>" like
// ParseReference.
func (c *Client) ParseDigest(s string) (name.Digest, error) {
	return parse(c, s, name.NewDigest, name.Digest.RegistryStr)
}

// ParseRepository parses "registry/repository" like ParseReference.
func (c *Client) ParseRepository(s string) (name.Repository, error) {
	return parse(c, s, name.NewRepository, name.Repository.RegistryStr)
}

// IsInsecure reports whether host ("host" or "host:port") is one of the
// client's insecure hosts. Registries that go-containerregistry speaks
// plain HTTP to by its own rule (loopback, say) are not, unless named.
func (c *Client) IsInsecure(host string) bool {
	if host == "" {
		return false // name.NewRegistry would take it for Docker Hub
	}
	if c.insecure[host] {
		return true
	}
	reg, err := name.NewRegistry(host)
	return err == nil && c.insecure[reg.RegistryStr()]
}

// parse parses s with f, then again with name.Insecure if the registry it
// names is insecure.
func parse[T any](c *Client, s string, f func(string, ...name.Option) (T, error), registry func(T) string) (T, error) {
	v, err := f(s)
	if err != nil {
		return v, fmt.Errorf("%w: %w", hallmark.ErrInvalid, err)
	}
	if !c.insecure[registry(v)] {
		return v, nil
	}
	if v, err = f(s, name.Insecure); err != nil {
		return v, fmt.Errorf("%w: %w", hallmark.ErrInvalid, err)
	}
	return v, nil
}

// TagRepository parses tag strictly, as a build's tags must be written (an
// explicit registry, repository and tag; no defaults), and returns its
// repository, "registry/repository". It is the parser the gateway and the
// CLI give hallmark.ValidateTags.
func TagRepository(tag string) (string, error) {
	t, err := name.NewTag(tag, name.StrictValidation)
	if err != nil {
		return "", err
	}
	return t.Context().Name(), nil
}
