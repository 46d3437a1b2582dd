package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Credential is a username and password for one registry host.
type Credential struct {
	Username string
	Password string
}

// String hides the password.
func (c Credential) String() string { return "auth(" + c.Username + ")" }

// Keychain serves static credentials by registry host ("host" or
// "host:port", as go-containerregistry names the registry: "index.docker.io"
// for Docker Hub), falling back to anonymous access for other hosts.
type Keychain map[string]Credential

var _ authn.Keychain = Keychain(nil)

// Resolve returns the credential for r's registry host.
func (k Keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	c, ok := k[r.RegistryStr()]
	if !ok {
		return authn.Anonymous, nil
	}
	return &authn.Basic{Username: c.Username, Password: c.Password}, nil
}

// Credential returns the credential the client's keychain holds for host
// ("host" or "host:port"), for tools that take one rather than a
// go-containerregistry option (BuildKit's session). ok is false when access
// to host is anonymous.
func (c *Client) Credential(ctx context.Context, host string) (cred authn.AuthConfig, ok bool, err error) {
	a, err := authn.Resolve(ctx, c.keychain, hostResource(host))
	if err != nil {
		return authn.AuthConfig{}, false, fmt.Errorf("find credentials for %s: %w", host, err)
	}
	if a == authn.Anonymous {
		return authn.AuthConfig{}, false, nil
	}
	cfg, err := authn.Authorization(ctx, a)
	if err != nil {
		return authn.AuthConfig{}, false, fmt.Errorf("find credentials for %s: %w", host, err)
	}
	return *cfg, true, nil
}

// hostResource is a registry host as an authn.Resource, exactly as given.
type hostResource string

func (h hostResource) String() string      { return string(h) }
func (h hostResource) RegistryStr() string { return string(h) }
