package builder

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

// TestCacheNamespace: a readable prefix and the SHA-256 of the scope, so
// scopes never share a namespace and no namespace contains a "/".
func TestCacheNamespace(t *testing.T) {
	sum := sha256.Sum256([]byte("registry.example.com/acme/app"))
	if got, want := CacheNamespace("registry.example.com/acme/app"), "hallmark-cache-"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("CacheNamespace = %q, want %q", got, want)
	}
	nsRE := regexp.MustCompile(`^hallmark-cache-[0-9a-f]{64}$`)
	seen := map[string]string{}
	for _, scope := range []string{"registry.example.com/acme/app", "registry.example.com/acme/api", "acme-shared", "acme-shared2", "registry.example.com/acme"} {
		ns := CacheNamespace(scope)
		if !nsRE.MatchString(ns) {
			t.Errorf("CacheNamespace(%q) = %q, want hallmark-cache-<64 hex>", scope, ns)
		}
		if other, ok := seen[ns]; ok {
			t.Errorf("scopes %q and %q share namespace %s", scope, other, ns)
		}
		seen[ns] = scope
	}
}

// TestTenancyAttrs: the frontend gets the cache-mount namespace of the
// build's scope (the repository unless the rule names one) and the
// rule's network; a caller's build arg can never replace them.
func TestTenancyAttrs(t *testing.T) {
	const repo = "registry.example.com/acme/app"
	in := inputs{contextDir: "/c", dockerfileDir: "/c", dockerfileKey: "Dockerfile"}
	tests := []struct {
		name        string
		req         hallmark.BuildRequest
		wantScope   string
		wantNetwork string
		wantAttr    string // force-network-mode, "" for unset
	}{
		{name: "defaults", req: hallmark.BuildRequest{Repository: repo}, wantScope: repo, wantNetwork: "default"},
		{name: "named scope", req: hallmark.BuildRequest{Repository: repo, CacheScope: "acme-shared"}, wantScope: "acme-shared", wantNetwork: "default"},
		{name: "network none", req: hallmark.BuildRequest{Repository: repo, Network: "none"}, wantScope: repo, wantNetwork: "none", wantAttr: "none"},
		{name: "network default", req: hallmark.BuildRequest{Repository: repo, Network: "default"}, wantScope: repo, wantNetwork: "default"},
		{name: "caller args cannot override", req: hallmark.BuildRequest{Repository: repo, Network: "none",
			BuildArgs: map[string]string{"BUILDKIT_CACHE_MOUNT_NS": "victim", "A": "1"}}, wantScope: repo, wantNetwork: "none", wantAttr: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := tenancy(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if req.CacheScope != tt.wantScope || req.Network != tt.wantNetwork {
				t.Errorf("tenancy = scope %q, network %q; want %q, %q", req.CacheScope, req.Network, tt.wantScope, tt.wantNetwork)
			}
			a := frontendAttrs(req, in)
			if got, want := a["build-arg:BUILDKIT_CACHE_MOUNT_NS"], CacheNamespace(tt.wantScope); got != want {
				t.Errorf("cache mount namespace = %q, want %q", got, want)
			}
			if got, ok := a["force-network-mode"]; got != tt.wantAttr || ok != (tt.wantAttr != "") {
				t.Errorf("force-network-mode = %q (set %v), want %q", got, ok, tt.wantAttr)
			}
			for _, k := range []string{"cmdline", "source"} {
				if _, ok := a[k]; ok {
					t.Errorf("frontend attr %q is set: %v", k, a)
				}
			}
		})
	}
}

// TestTenancyRefuses: an unknown network or no scope at all fails closed.
func TestTenancyRefuses(t *testing.T) {
	for _, req := range []hallmark.BuildRequest{
		{Repository: "r.example/a", Network: "host"},
		{Repository: "r.example/a", Network: "sandbox"},
		{},
	} {
		if _, err := tenancy(req); !errors.Is(err, hallmark.ErrInvalid) {
			t.Errorf("tenancy(%+v) = %v, want ErrInvalid", req, err)
		}
	}
}
