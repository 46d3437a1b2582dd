//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

// tarEntry is one entry of a test context archive.
type tarEntry struct {
	name     string
	body     string
	typ      byte // tar.TypeReg when zero
	linkname string
	mode     int64 // 0o644 (0o755 for a directory) when zero
}

func makeTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.linkname}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		if typ == tar.TypeDir {
			hdr.Mode = 0o755
		}
		if e.mode != 0 {
			hdr.Mode = e.mode
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// upload sends data with UploadContext in 64 KiB chunks.
func upload(ctx context.Context, c hallmarkv1connect.BuildServiceClient, data []byte) (string, error) {
	stream := c.UploadContext(ctx)
	for off := 0; off < len(data) || off == 0; off += 64 << 10 {
		end := min(off+64<<10, len(data))
		if err := stream.Send(&hallmarkv1.UploadContextRequest{Chunk: data[off:end]}); err != nil {
			break // the server answered early; CloseAndReceive has its answer
		}
		if end == len(data) {
			break
		}
	}
	resp, err := stream.CloseAndReceive()
	if err != nil {
		return "", err
	}
	return resp.Msg.GetDigest(), nil
}

func sha(data []byte) string {
	s := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(s[:])
}

// build runs a build to its end and returns the result, the events seen and
// the error that ended the stream.
func build(ctx context.Context, c hallmarkv1connect.BuildServiceClient, req *hallmarkv1.BuildRequest) (*hallmarkv1.BuildResult, []*hallmarkv1.BuildResponse, error) {
	stream, err := c.Build(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, nil, err
	}
	defer stream.Close()
	var events []*hallmarkv1.BuildResponse
	var result *hallmarkv1.BuildResult
	for stream.Receive() {
		events = append(events, stream.Msg())
		if r := stream.Msg().GetResult(); r != nil {
			result = r
		}
	}
	if err := stream.Err(); err != nil {
		return nil, events, err
	}
	if result == nil {
		return nil, events, errors.New("stream ended without a result")
	}
	return result, events, nil
}

func code(err error) connect.Code {
	return connect.CodeOf(err)
}

// remoteImage fetches ref from the stack's registry.
func remoteImage(t testing.TB, ref string) (*remote.Descriptor, error) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", ref, err)
	}
	return remote.Get(r, remote.WithContext(t.Context()))
}

func imageConfig(t testing.TB, ref string) *v1.ConfigFile {
	t.Helper()
	desc, err := remoteImage(t, ref)
	if err != nil {
		t.Fatalf("fetch %s: %v", ref, err)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatalf("read image %s: %v", ref, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("read config of %s: %v", ref, err)
	}
	return cfg
}

func hallmarkv1connectClient(gateway, tok string) hallmarkv1connect.BuildServiceClient {
	return hallmarkv1connect.NewBuildServiceClient(h2c(), gateway, connect.WithInterceptors(bearer(tok)))
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHTTP polls url until it answers 200, for up to 30s.
func waitHTTP(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 30s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metric returns the value of one sample line of the gateway's /metrics,
// e.g. `hallmark_builds_finished_total{code="canceled",result="canceled"}`.
func metric(t testing.TB, gateway, sample string) float64 {
	t.Helper()
	resp, err := http.Get(gateway + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", sample, err)
			}
			return f
		}
	}
	return 0
}

func buildRequest(contextDigest, tag string) *hallmarkv1.BuildRequest {
	return &hallmarkv1.BuildRequest{
		Source: &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: contextDigest},
		Tags:   []string{tag},
	}
}

// dockerfileRequest uploads a context holding only dockerfile, and returns
// the request that builds it as tag.
func dockerfileRequest(t *testing.T, c hallmarkv1connect.BuildServiceClient, dockerfile, tag string) *hallmarkv1.BuildRequest {
	t.Helper()
	dgst, err := upload(t.Context(), c, makeTar(t, tarEntry{name: "Dockerfile", body: dockerfile}))
	if err != nil {
		t.Fatal(err)
	}
	return buildRequest(dgst, tag)
}

// inlineRequest uploads an empty context for an inline Dockerfile.
func inlineRequest(t *testing.T, c hallmarkv1connect.BuildServiceClient, dockerfile, tag string) *hallmarkv1.BuildRequest {
	t.Helper()
	dgst, err := upload(t.Context(), c, makeTar(t, tarEntry{name: "README", body: "base"}))
	if err != nil {
		t.Fatal(err)
	}
	req := buildRequest(dgst, tag)
	req.DockerfileInline = []byte(dockerfile)
	return req
}

// referrersRegistry serves go-containerregistry's in-process registry, which
// implements the OCI referrers API, on loopback and returns its host:port.
func referrersRegistry(t testing.TB) string {
	t.Helper()
	return registrytest.New(t).Host
}
