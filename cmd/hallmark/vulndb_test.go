package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// fakeVulnDB is an in-process VulnDBService that checks each file against
// its expected sha256 and refuses files named "bad.json".
type fakeVulnDB struct {
	hallmarkv1connect.UnimplementedVulnDBServiceHandler
	mu      sync.Mutex
	sources []string
	auth    []string
}

func (f *fakeVulnDB) Import(_ context.Context, stream *connect.ClientStream[hallmarkv1.ImportRequest]) (*connect.Response[hallmarkv1.ImportResponse], error) {
	var source, expected string
	var data []byte
	for stream.Receive() {
		if source == "" {
			source, expected = stream.Msg().GetSource(), stream.Msg().GetExpectedSha256()
		}
		data = append(data, stream.Msg().GetChunk()...)
	}
	f.mu.Lock()
	f.sources = append(f.sources, source)
	f.auth = append(f.auth, stream.RequestHeader().Get("Authorization"))
	f.mu.Unlock()
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != expected {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("sha256 mismatch"))
	}
	if strings.HasSuffix(source, "bad.json") {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New(`import bad.json: invalid input: record id "" is not an OSV identifier`))
	}
	return connect.NewResponse(&hallmarkv1.ImportResponse{Source: source, Sha256: expected, Records: int64(len(data)), Changed: 1}), nil
}

func startVulnDB(t *testing.T, f *fakeVulnDB) string {
	t.Helper()
	path, h := hallmarkv1connect.NewVulnDBServiceHandler(f)
	return serveH2C(t, path, h)
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestVulnDBImport: files named and found in directories are sent one by
// one with their sha256, under their source names, one line each.
func TestVulnDBImport(t *testing.T) {
	big := strings.Repeat("x", 2*chunkSize+5)
	dir := writeFiles(t, map[string]string{
		"one.json": "{}", "ghsa/a.json": "{}", "ghsa/sub/b.json": big, "ghsa/README.md": "no", "ghsa/.hidden/c.json": "{}",
	})
	f := &fakeVulnDB{}
	gw := startVulnDB(t, f)
	r := runGatewayCmd(t.Context(), t, newVulnDBCmd(), "", "import", "--gateway", gw, filepath.Join(dir, "one.json"), filepath.Join(dir, "ghsa"))
	if r.err != nil {
		t.Fatalf("%v: %s", r.err, r.stderr)
	}
	if want := []string{"one.json", "ghsa/a.json", "ghsa/sub/b.json"}; !slices.Equal(f.sources, want) || f.auth[0] != "Bearer "+testToken {
		t.Errorf("sources %q, auth %q; want %q", f.sources, f.auth, want)
	}
	if n := strings.Count(r.stdout, "\n"); n != 3 || !strings.Contains(r.stdout, "imported ghsa/sub/b.json: 2097157 records, 1 changed") {
		t.Errorf("stdout %q", r.stdout)
	}
}

func TestVulnDBImportRefused(t *testing.T) {
	dir := writeFiles(t, map[string]string{"bad.json": "{}", "empty/x.txt": ""})
	gw := startVulnDB(t, &fakeVulnDB{})
	for _, args := range [][]string{{filepath.Join(dir, "bad.json")}, {filepath.Join(dir, "empty")}, {filepath.Join(dir, "missing.json")}} {
		r := runGatewayCmd(t.Context(), t, newVulnDBCmd(), "", append([]string{"import", "--gateway", gw}, args...)...)
		if code := exitOf(t, r.err); code != exitCannotTell || !strings.HasPrefix(r.stderr, "hallmark vulndb import: ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, r.stderr)
		}
	}
}

func TestWriteVulnStatus(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	st := &hallmarkv1.StatusResponse{
		Imports: []*hallmarkv1.VulnImport{
			{Source: "Go-all.zip", Records: 4291, Changed: 4291, ImportedAt: timestamppb.New(now.Add(-3 * time.Hour)), Actor: "http://issuer dev-ci"},
			{Source: "ghsa/GHSA-v778-237x-gjrc.json", Records: 1, Changed: 1, NewestModified: timestamppb.New(now.Add(-400 * time.Hour)),
				ImportedAt: timestamppb.New(now.Add(-time.Minute)), Actor: "http://issuer dev-ci"},
		},
		Advisories: 4292, Ecosystems: map[string]int64{"Go": 4292, "Debian:12": 3},
		NewestModified: timestamppb.New(now.Add(-400 * time.Hour)), LastImported: timestamppb.New(now.Add(-time.Minute)),
	}
	var buf bytes.Buffer
	if err := writeVulnStatus(&buf, st, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Go-all.zip                                    4291  -                     3h        2026-12-05T09:00:00Z  http://issuer dev-ci\n",
		"2026-11-18T20:00:00Z  16d ",
		"4292 advisories loaded (Debian:12 3, Go 4292); newest modified 2026-11-18T20:00:00Z, last import 2026-12-05T11:59:00Z\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("status:\n%s\nwant %q", buf.String(), want)
		}
	}
	buf.Reset()
	_ = writeVulnStatus(&buf, &hallmarkv1.StatusResponse{}, now)
	if !strings.HasPrefix(buf.String(), "no advisories loaded") {
		t.Errorf("empty status %q", buf.String())
	}
}
