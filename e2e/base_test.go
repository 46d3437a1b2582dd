//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/hallmark-dev/hallmark/attest/provenance"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// TestBaseBuild builds examples/bases/static.yaml with `hallmark base build`
// twice: both give the digest of the stack's own static base (built by the
// gateway from the same spec at startup), the image runs as 65532, and its
// verified SBOM lists exactly the packages its verified provenance names
// as resolved dependencies.
func TestBaseBuild(t *testing.T) {
	st := env.stack.State
	spec := filepath.Join(env.repo, "examples", "bases", "static.yaml")
	var digests []string
	for i, tag := range []string{st.Registry + "/e2e/base-static:v1", st.Registry + "/e2e/base-static:v2"} {
		meta := filepath.Join(t.TempDir(), "metadata.json")
		stdout, stderr, err := runCLI(t, "base", "build", "--progress", "plain", "--metadata-file", meta, "-t", tag, spec)
		if err != nil {
			t.Fatalf("hallmark base build #%d: %v\n%s", i+1, err, stderr)
		}
		pinned := strings.TrimSpace(stdout)
		if !strings.HasPrefix(pinned, st.Registry+"/e2e/base-static@sha256:") {
			t.Fatalf("stdout = %q, want the image pinned by digest", stdout)
		}
		for _, step := range []string{"[base 1/4] resolve", "[base 2/4] fetch", "[base 3/4] unpack", "[base 4/4] push", "[hallmark] attest"} {
			if !strings.Contains(stderr, step) {
				t.Errorf("progress does not show %q:\n%s", step, stderr)
			}
		}
		if desc, err := remoteImage(t, tag); err != nil || desc.Digest.String() != digestIn(pinned).String() {
			t.Errorf("%s: %v, want it to name %s", tag, err, pinned)
		}
		var m struct {
			Packages []struct{ Name, SHA256 string } `json:"hallmark.packages"`
		}
		if data, err := os.ReadFile(meta); err != nil || json.Unmarshal(data, &m) != nil || len(m.Packages) == 0 {
			t.Errorf("metadata file: %v, %d packages", err, len(m.Packages))
		}
		digests = append(digests, digestIn(pinned).String())
	}
	if digests[0] != digests[1] || digests[0] != digestIn(st.BaseImage).String() {
		t.Errorf("digests %v and the stack's static %s differ: the build is not reproducible", digests, st.BaseImage)
	}
	pinned := st.Registry + "/e2e/base-static@" + digests[0]
	if cfg := imageConfig(t, pinned); cfg.Config.User != "65532:65532" || cfg.Config.WorkingDir != "/home/nonroot" {
		t.Errorf("config user %q, workingDir %q; want 65532:65532, /home/nonroot", cfg.Config.User, cfg.Config.WorkingDir)
	}

	prov, doc := provenanceAndSBOM(t, pinned)
	p, err := provenance.ParseBase(prov.Predicate)
	if err != nil {
		t.Fatalf("parse provenance: %v", err)
	}
	var deps []string
	for _, d := range p.BuildDefinition.ResolvedDependencies {
		if !strings.HasPrefix(d.URI, "http") || len(d.Digest["sha256"]) != 64 {
			t.Errorf("dependency %+v has no mirror URL or sha256", d)
		}
		deps = append(deps, d.Name)
	}
	for _, declared := range []string{"base-files=", "ca-certificates=", "netbase=", "tzdata="} {
		if !slices.ContainsFunc(deps, func(d string) bool { return strings.HasPrefix(d, declared) }) {
			t.Errorf("resolvedDependencies %v lack the declared %s", deps, declared)
		}
	}
	if p.BuildDefinition.ExternalParameters.Requester.Subject != "dev-ci" || len(p.BuildDefinition.InternalParameters.Sources) == 0 {
		t.Errorf("external %+v, internal %+v", p.BuildDefinition.ExternalParameters.Requester, p.BuildDefinition.InternalParameters)
	}
	if got := sbomDebs(t, doc.Predicate); !slices.Equal(got, deps) {
		t.Errorf("SBOM packages\n%v\nprovenance dependencies\n%v", got, deps)
	}
}

// sbomDebs returns the SBOM's packages as sorted "name=version", failing on
// any package that is neither a Debian package nor the image itself.
func sbomDebs(t *testing.T, predicate []byte) []string {
	t.Helper()
	var doc struct {
		Packages []struct {
			SPDXID      string `json:"SPDXID"`
			Name        string `json:"name"`
			VersionInfo string `json:"versionInfo"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(predicate, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range doc.Packages {
		if p.SPDXID == "SPDXRef-Image" {
			continue
		}
		if !strings.HasPrefix(p.SPDXID, "SPDXRef-Package-deb-") {
			t.Errorf("SBOM package %s %s is not a Debian package", p.SPDXID, p.Name)
			continue
		}
		out = append(out, p.Name+"="+p.VersionInfo)
	}
	slices.Sort(out)
	return out
}

// TestBaseExampleRunsAsNonRoot runs examples/hello, built on the stack's
// static base, inside BuildKit: the binary starts as uid 65532.
func TestBaseExampleRunsAsNonRoot(t *testing.T) {
	st := env.stack.State
	stdout, stderr, err := runCLI(t, helloBuild("--progress", "plain", "-t", st.Registry+"/e2e/base-hello:v1")...)
	if err != nil {
		t.Fatalf("build hello: %v\n%s", err, stderr)
	}
	hello := strings.TrimSpace(stdout)
	c := authed(token(t, "e2e-base-run"))
	req := inlineRequest(t, c, "FROM "+hello+"\nRUN [\"/usr/local/bin/hello\"]\n", st.Registry+"/e2e/base-hello-run:v1")
	req.NoCache = true // the image is reproducible, so BuildKit's cache would skip the RUN
	_, events, err := build(t.Context(), c, req)
	if err != nil {
		t.Fatalf("run hello: %v", err)
	}
	var out strings.Builder
	for _, e := range events {
		for _, l := range e.GetStatus().GetLogs() {
			out.Write(l.GetMsg())
		}
	}
	if !strings.Contains(out.String(), "hello from a Hallmark-built image") || !strings.Contains(out.String(), "uid 65532)") {
		t.Errorf("hello printed %q, want it to run as uid 65532", out.String())
	}
}

// TestBaseBuildBadSpecs sends bad specs through the API: each fails with a
// clear error naming the problem, and the tag never appears.
func TestBaseBuildBadSpecs(t *testing.T) {
	st := env.stack.State
	const header = "apiVersion: hallmark.dev/v1\nkind: BaseImage\nmetadata: {name: bad}\n"
	tests := []struct {
		name     string
		spec     string
		tag      string
		code     connect.Code
		contains []string
	}{
		{name: "unknown package", spec: header + "spec:\n  packages: [base-files, hallmark-no-such-package]\n",
			code: connect.CodeInvalidArgument, contains: []string{"Unable to locate package hallmark-no-such-package"}},
		{name: "unknown version", spec: header + "spec:\n  packages: [netbase=0.0-hallmark]\n",
			code: connect.CodeInvalidArgument, contains: []string{"Version '0.0-hallmark' for 'netbase' was not found"}},
		{name: "unknown field", spec: header + "spec:\n  pakages: [netbase]\n",
			code: connect.CodeInvalidArgument, contains: []string{`spec: unknown field "pakages"`}},
		{name: "bad package name", spec: header + "spec:\n  packages: [netbase, Not_A_Package]\n",
			code: connect.CodeInvalidArgument, contains: []string{"spec.packages[1]", "is not a Debian package name"}},
		{name: "root user", spec: header + "spec:\n  packages: [netbase]\n  user: {name: root, uid: 0}\n",
			code: connect.CodeInvalidArgument, contains: []string{"spec.user.name"}},
		{name: "repository not allowed", spec: header + "spec:\n  packages: [netbase]\n", tag: "registry.example.com/other/base:v1",
			code: connect.CodePermissionDenied, contains: []string{"registry.example.com/other/base"}},
	}
	c := authed(token(t, "e2e-base-bad"))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tag := tt.tag
			if tag == "" {
				tag = fmt.Sprintf("%s/e2e/base-bad:case%d", st.Registry, i)
			}
			_, err := buildBase(t.Context(), c, &hallmarkv1.BuildBaseRequest{Spec: []byte(tt.spec), Tags: []string{tag}})
			if code(err) != tt.code {
				t.Fatalf("error = %v, want code %v", err, tt.code)
			}
			for _, w := range tt.contains {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if _, ferr := remoteImage(t, tag); ferr == nil {
				t.Errorf("tag %s exists after a failed base build", tag)
			}
		})
	}
}

// buildBase runs a BuildBase stream to its end.
func buildBase(ctx context.Context, c hallmarkv1connect.BuildServiceClient, req *hallmarkv1.BuildBaseRequest) (*hallmarkv1.BuildBaseResult, error) {
	stream, err := c.BuildBase(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	var result *hallmarkv1.BuildBaseResult
	for stream.Receive() {
		if r := stream.Msg().GetResult(); r != nil {
			result = r
		}
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	if result == nil {
		return nil, errors.New("stream ended without a result")
	}
	return result, nil
}
