package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

const testSpec = "apiVersion: hallmark.dev/v1\nkind: BaseImage\nmetadata: {name: static}\nspec: {packages: [netbase]}\n"

// baseGateway answers BuildBase from a script.
type baseGateway struct {
	hallmarkv1connect.UnimplementedBuildServiceHandler
	err error

	mu   sync.Mutex
	reqs []*hallmarkv1.BuildBaseRequest
	auth []string
}

func (g *baseGateway) BuildBase(_ context.Context, req *connect.Request[hallmarkv1.BuildBaseRequest], s *connect.ServerStream[hallmarkv1.BuildBaseResponse]) error {
	g.mu.Lock()
	g.reqs = append(g.reqs, req.Msg)
	g.auth = append(g.auth, req.Header().Get("Authorization"))
	g.mu.Unlock()
	if err := s.Send(&hallmarkv1.BuildBaseResponse{Event: &hallmarkv1.BuildBaseResponse_Accepted{Accepted: &hallmarkv1.BuildAccepted{BuildId: "base-1"}}}); err != nil {
		return err
	}
	vd := "sha256:" + strings.Repeat("c", 64)
	v := &hallmarkv1.Vertex{Digest: vd, Name: "[base 1/4] resolve 1 packages", Started: nowTS(), Completed: nowTS()}
	if err := s.Send(&hallmarkv1.BuildBaseResponse{Event: &hallmarkv1.BuildBaseResponse_Status{Status: &hallmarkv1.SolveStatus{
		Vertexes: []*hallmarkv1.Vertex{v}, Logs: []*hallmarkv1.VertexLog{{Vertex: vd, Stream: 1, Msg: []byte("netbase 6.4 all\n"), Timestamp: nowTS()}}}}}); err != nil {
		return err
	}
	if g.err != nil {
		return g.err
	}
	dgst := "sha256:" + strings.Repeat("d", 64)
	return s.Send(&hallmarkv1.BuildBaseResponse{Event: &hallmarkv1.BuildBaseResponse_Result{Result: &hallmarkv1.BuildBaseResult{
		Build: &hallmarkv1.BuildResult{BuildId: "base-1", Digest: dgst, ImageName: "reg.example/static", Tags: req.Msg.GetTags(), Pinned: "reg.example/static@" + dgst,
			Attestations: []*hallmarkv1.Attestation{{PredicateType: "https://slsa.dev/provenance/v1", LogIndex: 3, Timestamp: nowTS()}}},
		Packages: []*hallmarkv1.DebianPackage{{Name: "netbase", Version: "6.4", Architecture: "all", Uri: "http://deb.example/netbase_6.4_all.deb", Sha256: "sha256:" + strings.Repeat("e", 64)}},
	}}})
}

func startBaseGateway(t *testing.T, g *baseGateway) string {
	t.Helper()
	path, h := hallmarkv1connect.NewBuildServiceHandler(g)
	return serveH2C(t, path, h)
}

// runBaseCmd runs `hallmark base build args...` as main would, with
// HALLMARK_TOKEN set and stdin.
func runBaseCmd(t *testing.T, stdin string, args ...string) runResult {
	t.Helper()
	return runGatewayCmd(t.Context(), t, newBaseCmd(), stdin, append([]string{"build"}, args...)...)
}

func TestBaseBuild(t *testing.T) {
	g := &baseGateway{}
	gw := startBaseGateway(t, g)
	spec := filepath.Join(t.TempDir(), "static.yaml")
	if err := os.WriteFile(spec, []byte(testSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(t.TempDir(), "meta.json")
	r := runBaseCmd(t, "", "--gateway", gw, "--progress", "plain", "-t", "reg.example/static:v1", "--metadata-file", meta, spec)
	if r.err != nil {
		t.Fatalf("base build: %v\n%s", r.err, r.stderr)
	}
	if r.stdout != "reg.example/static@sha256:"+strings.Repeat("d", 64)+"\n" {
		t.Errorf("stdout = %q, want only the pinned image", r.stdout)
	}
	if !strings.Contains(r.stderr, "[base 1/4] resolve") || !strings.Contains(r.stderr, "netbase 6.4 all") || !strings.Contains(r.stderr, "base-1 accepted") {
		t.Errorf("stderr does not show the progress:\n%s", r.stderr)
	}
	if len(g.reqs) != 1 || string(g.reqs[0].GetSpec()) != testSpec || g.auth[0] != "Bearer "+testToken {
		t.Errorf("requests = %v, auth %q", g.reqs, g.auth)
	}
	m, _ := readJSONFile[baseBuildMetadata](t, meta)
	if m.ImageName != "reg.example/static:v1" || len(m.Packages) != 1 || m.Packages[0].Name != "netbase" || len(m.Attestations) != 1 {
		t.Errorf("metadata = %+v", m)
	}

	// The spec can come from stdin.
	if r := runBaseCmd(t, testSpec, "--gateway", gw, "-q", "-t", "reg.example/static:v2", "-"); r.err != nil || r.stderr != "" {
		t.Fatalf("spec from stdin: %v, stderr %q", r.err, r.stderr)
	}
	if string(g.reqs[1].GetSpec()) != testSpec {
		t.Errorf("spec from stdin = %q", g.reqs[1].GetSpec())
	}
}

func TestBaseBuildErrors(t *testing.T) {
	g := &baseGateway{err: connect.NewError(connect.CodeInvalidArgument, errors.New("resolve packages: apt-get: Unable to locate package nope"))}
	gw := startBaseGateway(t, g)
	spec := filepath.Join(t.TempDir(), "static.yaml")
	if err := os.WriteFile(spec, []byte(testSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("#"), maxSpecBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "gateway error", args: []string{"--gateway", gw, "-t", "reg.example/static:v1", spec}, want: "Unable to locate package nope"},
		{name: "no tag", args: []string{"--gateway", gw, spec}, want: "at least one -t"},
		{name: "bad tag", args: []string{"--gateway", gw, "-t", "a b", spec}, want: `parse --tag "a b"`},
		{name: "missing spec", args: []string{"--gateway", gw, "-t", "reg.example/static:v1", filepath.Join(t.TempDir(), "none.yaml")}, want: "read spec"},
		{name: "spec too large", args: []string{"--gateway", gw, "-t", "reg.example/static:v1", big}, want: "larger than 64 KiB"},
		{name: "bad progress", args: []string{"--gateway", gw, "--progress", "fancy", "-t", "reg.example/static:v1", spec}, want: "unknown mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBaseCmd(t, "", tt.args...)
			if exitCodeOf(r.err) != 1 || !strings.Contains(r.stderr, "hallmark base build: ") || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit 1 saying %q", exitCodeOf(r.err), r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q after a failure", r.stdout)
			}
		})
	}
	if len(g.reqs) != 1 {
		t.Errorf("%d requests reached the gateway, want only the first case's", len(g.reqs))
	}
}
