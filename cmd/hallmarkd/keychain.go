package main

import (
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/hallmark-dev/hallmark/builder"
)

// keychain serves the configured registry credentials to go-containerregistry
// callers (the attester), matching what the builder gives BuildKit.
type keychain map[string]builder.RegistryAuth

func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	a, ok := k[r.RegistryStr()]
	if !ok {
		return authn.Anonymous, nil
	}
	return &authn.Basic{Username: a.Username, Password: a.Password}, nil
}
