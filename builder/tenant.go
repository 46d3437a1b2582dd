package builder

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Frontend attributes the gateway sets from the build's authorization,
// never from the caller's input (hallmark.ValidateBuildArg refuses every
// BUILDKIT_* build arg).
const (
	// attrCacheMountNS is the Dockerfile frontend's cache-mount namespace:
	// dockerfile2llb prefixes the id of every RUN --mount=type=cache with it
	// ("<ns>/<id>"), an explicit id= included.
	attrCacheMountNS = "build-arg:BUILDKIT_CACHE_MOUNT_NS"
	// attrForceNetwork is the Dockerfile frontend's network for RUN steps
	// (dockerui's force-network-mode): "none", "sandbox" (BuildKit's
	// default) or "host".
	attrForceNetwork = "force-network-mode"
)

// cacheNamespacePrefix starts every cache-mount namespace the gateway sets.
const cacheNamespacePrefix = "hallmark-cache-"

// CacheNamespace is the BuildKit cache-mount namespace of a cache scope:
// "hallmark-cache-" and the hex SHA-256 of the scope. Different scopes get
// different namespaces (a repository, "registry/repo", always has a "/"; a
// rule's cacheScope never does), and no namespace is a prefix of another's
// "<ns>/" ids, so no cache mount id a Dockerfile can write reaches another
// scope's cache.
func CacheNamespace(scope string) string {
	sum := sha256.Sum256([]byte(scope))
	return cacheNamespacePrefix + hex.EncodeToString(sum[:])
}

// tenancy fills in the cache scope and network of req that the build
// uses: the request's, or the repository and the default network when it
// leaves them empty. An unknown network is an error wrapping
// hallmark.ErrInvalid.
func tenancy(req hallmark.BuildRequest) (hallmark.BuildRequest, error) {
	req.CacheScope = cmp.Or(req.CacheScope, req.Repository)
	if req.CacheScope == "" {
		return req, fmt.Errorf("%w: build has no repository to scope its cache mounts to", hallmark.ErrInvalid)
	}
	req.Network = cmp.Or(req.Network, hallmark.NetworkDefault)
	switch req.Network {
	case hallmark.NetworkDefault, hallmark.NetworkNone:
	default:
		return req, fmt.Errorf("%w: network %q is not %s or %s", hallmark.ErrInvalid, hallmark.Clip(req.Network, 80), hallmark.NetworkDefault, hallmark.NetworkNone)
	}
	return req, nil
}

// setTenancyAttrs sets the frontend attributes of req's cache scope and
// network (req as tenancy returned it). They are set last, over anything
// else in attrs.
func setTenancyAttrs(attrs map[string]string, req hallmark.BuildRequest) {
	attrs[attrCacheMountNS] = CacheNamespace(req.CacheScope)
	if req.Network == hallmark.NetworkNone {
		attrs[attrForceNetwork] = "none"
	} else {
		delete(attrs, attrForceNetwork) // BuildKit's sandboxed default
	}
}
