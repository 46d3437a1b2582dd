package provenance

import (
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

// frontendDigest is the digest of the "# syntax=" frontend image of
// syntaxBuild.
var frontendDigest = hallmark.Digest("sha256:" + strings.Repeat("fe", 32))

// syntaxBuild is inlineBuild with a "# syntax=" directive the gateway's
// policy allowed, a hermetic network and the repository's cache scope.
func syntaxBuild() Build {
	b := inlineBuild()
	b.Request.ID, b.Result.ID = "bld_01HZSYNTAX", "bld_01HZSYNTAX"
	b.Request.DockerfileInline = []byte("# syntax=docker/dockerfile:1.7\n" + string(inlineDockerfile))
	b.Result.DockerfileDigest = hallmark.SHA256(b.Request.DockerfileInline)
	b.Result.Frontend = "docker.io/docker/dockerfile:1.7@" + frontendDigest.String()
	b.Result.Network = hallmark.NetworkNone
	return b
}

// TestTenancyParameters: the cache scope and network are recorded as the
// result says; they are left out when empty, and an unknown network fails.
func TestTenancyParameters(t *testing.T) {
	for _, tt := range []struct {
		name, scope, network string
		want                 string // in internalParameters, or "error"
	}{
		{"hermetic", "registry.example.com/acme/api", "none", `"cacheScope":"registry.example.com/acme/api","network":"none"`},
		{"shared", "acme-shared", "default", `"cacheScope":"acme-shared","network":"default"`},
		{"older result", "", "", `"basePolicy":`},
		{"unknown network", "acme-shared", "host", "error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := uploadBuild()
			b.Result.CacheScope, b.Result.Network = tt.scope, tt.network
			got, err := Predicate(b)
			if tt.want == "error" {
				if err == nil {
					t.Fatalf("Predicate succeeded with network %q", tt.network)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(got), tt.want) {
				t.Errorf("predicate lacks %s:\n%s", tt.want, got)
			}
			p, err := Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			if ip := p.BuildDefinition.InternalParameters; ip.CacheScope != tt.scope || ip.Network != tt.network {
				t.Errorf("parsed cacheScope %q, network %q; want %q, %q", ip.CacheScope, ip.Network, tt.scope, tt.network)
			}
		})
	}
}

// TestFrontendImage: a "# syntax=" frontend image is recorded by its
// pinned reference, and as a resolved dependency with its digest; a
// frontend that is neither the built-in one nor a pinned image fails.
func TestFrontendImage(t *testing.T) {
	got, err := Predicate(syntaxBuild())
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if fe := p.BuildDefinition.InternalParameters.Frontend; fe != "docker.io/docker/dockerfile:1.7@"+frontendDigest.String() {
		t.Errorf("frontend = %q", fe)
	}
	deps := p.BuildDefinition.ResolvedDependencies
	last := deps[len(deps)-1]
	if last.Name != DependencyFrontend || last.URI != "pkg:docker/docker/dockerfile@1.7?digest="+frontendDigest.String() || last.Digest["sha256"] != frontendDigest.Hex() {
		t.Errorf("frontend dependency = %+v", last)
	}
	for _, fe := range []string{"gateway.v0", "", "docker/dockerfile:1.7", "docker.io/docker/dockerfile@sha512:" + strings.Repeat("a", 128), "UPPER@" + frontendDigest.String()} {
		b := syntaxBuild()
		b.Result.Frontend = fe
		if _, err := Predicate(b); err == nil {
			t.Errorf("Predicate with frontend %q succeeded", fe)
		}
	}
}
