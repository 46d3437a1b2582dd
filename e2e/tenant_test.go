//go:build e2e

package e2e

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// cacheWriter writes MARK into two cache mounts: one named by its target,
// one by an explicit id.
const cacheWriter = `FROM %s
ARG MARK
RUN --mount=type=cache,target=/cache --mount=type=cache,id=e2e-explicit,target=/explicit \
    sh -c 'echo "$MARK" > /cache/m && echo "$MARK" > /explicit/m'
USER 65532
`

// cacheReader copies what the two cache mounts hold into the image. NONCE
// differs per build, so that the RUN step is never a hit of BuildKit's
// layer cache and really reads the mounts.
const cacheReader = `FROM %s
ARG NONCE
RUN --mount=type=cache,target=/cache --mount=type=cache,id=e2e-explicit,target=/explicit \
    sh -c '(cat /cache/m 2>/dev/null || echo none) > /seen && (cat /explicit/m 2>/dev/null || echo none) > /seen-explicit'
USER 65532
`

// TestCacheMountsPerTenant: a build plants a marker in its cache mounts; a
// build into another repository does not see it (not even under the same
// explicit id), a later build into the same repository does, and the
// provenance names the scope.
func TestCacheMountsPerTenant(t *testing.T) {
	st := env.stack.State
	c := hallmarkv1connectClient(env.stack.Gateway, token(t, "e2e-cache"))
	mark := "mark-" + time.Now().UTC().Format("20060102T150405.000000000")
	repoA, repoB := st.Registry+"/e2e/cache-a", st.Registry+"/e2e/cache-b"

	planted := cacheBuild(t, c, fmt.Sprintf(cacheWriter, st.GolangImage), map[string]string{"MARK": mark}, repoA+":plant")
	if got := provenanceOf(t, planted).BuildDefinition.InternalParameters.CacheScope; got != repoA {
		t.Errorf("provenance cacheScope = %q, want the repository %q", got, repoA)
	}
	reader := fmt.Sprintf(cacheReader, st.GolangImage)
	other := cacheBuild(t, c, reader, map[string]string{"NONCE": "b-" + mark}, repoB+":read")
	if seen := imageFiles(t, other, "seen", "seen-explicit"); seen["seen"] != "none" || seen["seen-explicit"] != "none" {
		t.Errorf("a build into %s saw %q in the cache mounts of %s, want none", repoB, seen, repoA)
	}
	same := cacheBuild(t, c, reader, map[string]string{"NONCE": "a-" + mark}, repoA+":read")
	if seen := imageFiles(t, same, "seen", "seen-explicit"); seen["seen"] != mark || seen["seen-explicit"] != mark {
		t.Errorf("a second build into %s saw %q in its cache mounts, want %q in both", repoA, seen, mark)
	}
}

// TestCacheScopeShared: repositories of a rule naming a cacheScope share
// their cache mounts; a repository of a rule without one does not.
func TestCacheScopeShared(t *testing.T) {
	st := env.stack.State
	gw := startGatewayWith(t, gatewayOpts{buildkit: st.BuildKit, registry: st.Registry, rules: fmt.Sprintf(
		"[{issuer: %q, repositories: [%q], cacheScope: e2e-team}, {issuer: %q, repositories: [%q]}]",
		st.Issuer, st.Registry+"/e2e/team-*", st.Issuer, st.Registry+"/**")})
	c := hallmarkv1connectClient(gw, token(t, "e2e-cache-scope"))
	mark := "team-" + time.Now().UTC().Format("20060102T150405.000000000")

	planted := cacheBuild(t, c, fmt.Sprintf(cacheWriter, st.GolangImage), map[string]string{"MARK": mark}, st.Registry+"/e2e/team-a:plant")
	if got := provenanceOf(t, planted).BuildDefinition.InternalParameters.CacheScope; got != "e2e-team" {
		t.Errorf("provenance cacheScope = %q, want e2e-team", got)
	}
	reader := fmt.Sprintf(cacheReader, st.GolangImage)
	teammate := cacheBuild(t, c, reader, map[string]string{"NONCE": "team-b-" + mark}, st.Registry+"/e2e/team-b:read")
	if seen := imageFiles(t, teammate, "seen", "seen-explicit"); seen["seen"] != mark || seen["seen-explicit"] != mark {
		t.Errorf("a build of the same cacheScope saw %q, want %q in both mounts", seen, mark)
	}
	outsider := cacheBuild(t, c, reader, map[string]string{"NONCE": "outsider-" + mark}, st.Registry+"/e2e/outsider:read")
	if seen := imageFiles(t, outsider, "seen", "seen-explicit"); seen["seen"] != "none" || seen["seen-explicit"] != "none" {
		t.Errorf("a build outside the cacheScope saw %q, want none", seen)
	}
}

// TestNetworkNone: under a rule with network: none, RUN steps have only
// loopback and cannot reach the registry the default network reaches
// (BuildKit runs RUN steps on the host network here), RUN --network=host
// is refused, and the provenance of the hermetic build says none.
func TestNetworkNone(t *testing.T) {
	st := env.stack.State
	gw := startGatewayWith(t, gatewayOpts{buildkit: st.BuildKit, registry: st.Registry, rules: fmt.Sprintf(
		"[{issuer: %q, subject: e2e-hermetic, repositories: [%q], network: none}, {issuer: %q, repositories: [%q]}]",
		st.Issuer, st.Registry+"/**", st.Issuer, st.Registry+"/**")})
	nonce := time.Now().UTC().Format("20060102T150405.000000000")
	// busybox's static wget crashes; nc connects to the registry's port.
	host, port, err := net.SplitHostPort(st.Registry)
	if err != nil {
		t.Fatal(err)
	}
	probe := fmt.Sprintf(`FROM %s
ARG NONCE
RUN ls /sys/class/net | tr '\n' ' ' > /ifaces; \
    if busybox nc -w 5 %s %s </dev/null 2>/net-error; then echo reachable; else echo unreachable; fi > /net
USER 65532
`, st.GolangImage, host, port)

	hermetic := hallmarkv1connectClient(gw, token(t, "e2e-hermetic"))
	pinned := cacheBuild(t, hermetic, probe, map[string]string{"NONCE": "none-" + nonce}, st.Registry+"/e2e/network:none")
	if got := imageFiles(t, pinned, "net", "ifaces"); got["net"] != "unreachable" || got["ifaces"] != "lo" {
		t.Errorf("under network none a RUN step saw the registry %q and interfaces %q, want unreachable and lo only", got["net"], got["ifaces"])
	}
	if got := provenanceOf(t, pinned).BuildDefinition.InternalParameters.Network; got != "none" {
		t.Errorf("provenance network = %q, want none", got)
	}

	open := hallmarkv1connectClient(gw, token(t, "e2e-networked"))
	pinned = cacheBuild(t, open, probe, map[string]string{"NONCE": "default-" + nonce}, st.Registry+"/e2e/network:default")
	if got := imageFiles(t, pinned, "net", "net-error", "ifaces"); got["net"] != "reachable" || got["ifaces"] == "lo" {
		t.Errorf("under the default network a RUN step saw the registry %q (%s) and interfaces %q, want reachable and more than lo", got["net"], got["net-error"], got["ifaces"])
	}
	if got := provenanceOf(t, pinned).BuildDefinition.InternalParameters.Network; got != "default" {
		t.Errorf("provenance network = %q, want default", got)
	}

	// RUN --network=host needs an entitlement the gateway never grants.
	tag := st.Registry + "/e2e/network:host"
	req := inlineRequest(t, hermetic, fmt.Sprintf("FROM %s\nARG NONCE\nRUN --network=host true\nUSER 65532\n", st.GolangImage), tag)
	req.BuildArgs = map[string]string{"NONCE": "host-" + nonce}
	if _, _, err := build(t.Context(), hermetic, req); err == nil || !strings.Contains(err.Error(), "network.host") {
		t.Errorf("RUN --network=host: error = %v, want a refusal naming the network.host entitlement", err)
	}
	if _, err := remoteImage(t, tag); err == nil {
		t.Errorf("%s exists after RUN --network=host", tag)
	}
}

// TestSyntaxDirectiveRefused: a "# syntax=" directive naming a frontend
// image the build policy does not list is refused before anything runs,
// naming the line and the image; so is BUILDKIT_SYNTAX, or any BUILDKIT_*
// build arg.
func TestSyntaxDirectiveRefused(t *testing.T) {
	st := env.stack.State
	c := hallmarkv1connectClient(env.stack.Gateway, token(t, "e2e-syntax"))
	tag := st.Registry + "/e2e/syntax:v1"
	for _, tt := range []struct {
		name, dockerfile string
		args             map[string]string
		want             string
	}{
		{name: "directive", dockerfile: "# syntax=docker/dockerfile:1.7\nFROM " + st.BaseImage + "\nUSER 65532\n",
			want: "dockerfile line 1: # syntax=docker/dockerfile:1.7 selects a frontend image that the build policy does not allow; allowed: none"},
		{name: "directive of a local image", dockerfile: "# check=skip=all\n# syntax=" + st.GolangImage + "\nFROM " + st.BaseImage + "\nUSER 65532\n",
			want: "dockerfile line 2: # syntax=" + st.GolangImage + " selects a frontend image that the build policy does not allow"},
		{name: "BUILDKIT_SYNTAX", dockerfile: "FROM " + st.BaseImage + "\nUSER 65532\n", args: map[string]string{"BUILDKIT_SYNTAX": "docker/dockerfile:1.7"},
			want: "build_args: BUILDKIT_SYNTAX is a BuildKit control argument"},
		{name: "BUILDKIT_CACHE_MOUNT_NS", dockerfile: "FROM " + st.BaseImage + "\nUSER 65532\n", args: map[string]string{"BUILDKIT_CACHE_MOUNT_NS": "victim"},
			want: "build_args: BUILDKIT_CACHE_MOUNT_NS is a BuildKit control argument"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := buildInline(t, c, tt.dockerfile, tt.args, tag)
			if code(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want InvalidArgument with %q", err, tt.want)
			}
			if _, err := remoteImage(t, tag); err == nil {
				t.Errorf("%s exists after a refused build", tag)
			}
		})
	}
}

// cacheBuild builds dockerfile (inline) with args as tag and returns the
// pinned image.
func cacheBuild(t *testing.T, c hallmarkv1connect.BuildServiceClient, dockerfile string, args map[string]string, tag string) string {
	t.Helper()
	req := inlineRequest(t, c, dockerfile, tag)
	req.BuildArgs = args
	res, _, err := build(t.Context(), c, req)
	if err != nil {
		t.Fatalf("build %s: %v", tag, err)
	}
	return res.GetPinned()
}

// imageFiles reads the named top-level files of image, trimmed.
func imageFiles(t *testing.T, image string, names ...string) map[string]string {
	t.Helper()
	desc, err := remoteImage(t, image)
	if err != nil {
		t.Fatal(err)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	got := map[string]string{}
	tr := tar.NewReader(mutate.Extract(img))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if name := strings.TrimPrefix(hdr.Name, "/"); want[name] {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			got[name] = strings.TrimSpace(string(data))
		}
	}
	return got
}
