package main

import (
	"bufio"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/internal/golden"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// fakeStore is an in-process StoreService whose result for an image is
// chosen by the image's tag, recording what it was asked.
type fakeStore struct {
	hallmarkv1connect.UnimplementedStoreServiceHandler
	err error // the whole call's

	mu    sync.Mutex
	calls []*hallmarkv1.ImportImagesRequest
	auth  []string
}

func (f *fakeStore) ImportImages(_ context.Context, req *connect.Request[hallmarkv1.ImportImagesRequest], stream *connect.ServerStream[hallmarkv1.ImportImagesResponse]) error {
	f.mu.Lock()
	f.calls = append(f.calls, req.Msg)
	f.auth = append(f.auth, req.Header().Get("Authorization"))
	f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	for _, image := range req.Msg.GetImages() {
		repo, tag, _ := strings.Cut(image, ":")
		r := &hallmarkv1.ImportImagesResponse{Image: image, Repository: repo, Digest: qDigest("a"), Policy: "gateway-built"}
		switch tag {
		case "denied":
			r.Outcome, r.Reasons = hallmarkv1.ImportOutcome_IMPORT_OUTCOME_NOT_VERIFIED, []string{`rule "signers": no attestation verified`, "second\nline"}
		case "down":
			r.Outcome, r.Digest, r.ErrorCode, r.Error = hallmarkv1.ImportOutcome_IMPORT_OUTCOME_ERROR, "", "unavailable", "list referrers: connection refused"
		case "again":
			r.Outcome, r.RecordId = hallmarkv1.ImportOutcome_IMPORT_OUTCOME_ALREADY_RECORDED, "b-20261202T100000-1a2b3c4d"
		default:
			r.Outcome, r.RecordId, r.Bases, r.Packages, r.RequesterFrom = hallmarkv1.ImportOutcome_IMPORT_OUTCOME_IMPORTED,
				"import-aaaaaaaaaaaa-1a2b3c4d", 2, 143, "provenance"
		}
		if err := stream.Send(r); err != nil {
			return err
		}
	}
	return nil
}

func startStore(t *testing.T, f *fakeStore) string {
	t.Helper()
	path, h := hallmarkv1connect.NewStoreServiceHandler(f)
	return serveH2C(t, path, h)
}

// TestStoreImport: one line per image, and the exit status of the worst:
// 0 imported or already recorded, 1 not verified, 2 could not be verified.
func TestStoreImport(t *testing.T) {
	for _, tc := range []struct {
		name   string
		images []string
		exit   exitCode
		stderr string
	}{
		{"imported", []string{"reg.example/app:v1", "reg.example/app:again"}, exitOK, ""},
		{"not-verified", []string{"reg.example/app:v1", "reg.example/app:denied"}, exitFailed,
			"hallmark store import: 1 of 2 images not imported: 1 not verified, 0 could not be verified or recorded\n"},
		{"error", []string{"reg.example/app:denied", "reg.example/app:down", "reg.example/app:again"}, exitCannotTell,
			"hallmark store import: 2 of 3 images not imported: 1 not verified, 1 could not be verified or recorded\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeStore{}
			gw := startStore(t, f)
			r := runGatewayCmd(t.Context(), t, newStoreCmd(), "", append([]string{"import", "--gateway", gw, "--policy", "gateway-built"}, tc.images...)...)
			if code := exitOf(t, r.err); code != tc.exit || r.stderr != tc.stderr {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, r.stderr, tc.exit, tc.stderr)
			}
			golden.Check(t, filepath.Join("testdata", "store-import-"+tc.name+".txt"), []byte(r.stdout))
			if len(f.calls) != 1 || f.calls[0].GetPolicy() != "gateway-built" || len(f.calls[0].GetImages()) != len(tc.images) || f.auth[0] != "Bearer "+testToken {
				t.Errorf("calls %v, auth %q", f.calls, f.auth)
			}
		})
	}
}

// TestStoreImportBatches: more than 100 images go in calls of 100; JSON
// output is one response per line.
func TestStoreImportBatches(t *testing.T) {
	f := &fakeStore{}
	gw := startStore(t, f)
	var images []string
	for i := range 250 {
		images = append(images, fmt.Sprintf("reg.example/app:v%d", i))
	}
	r := runGatewayCmd(t.Context(), t, newStoreCmd(), "", append([]string{"import", "--gateway", gw, "--output", "json"}, images...)...)
	if r.err != nil {
		t.Fatalf("%v: %s", r.err, r.stderr)
	}
	if len(f.calls) != 3 || len(f.calls[0].GetImages()) != 100 || len(f.calls[2].GetImages()) != 50 {
		t.Errorf("%d calls", len(f.calls))
	}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	n := 0
	for sc.Scan() {
		var resp hallmarkv1.ImportImagesResponse
		if err := protojson.Unmarshal(sc.Bytes(), &resp); err != nil || resp.GetImage() != images[n] {
			t.Fatalf("line %d %q: %v", n, sc.Text(), err)
		}
		n++
	}
	if n != len(images) {
		t.Errorf("%d lines, want %d", n, len(images))
	}
}

// TestStoreImportRefused: a call the gateway refuses, and bad usage, exit 2.
func TestStoreImportRefused(t *testing.T) {
	f := &fakeStore{err: connect.NewError(connect.CodePermissionDenied, fmt.Errorf(`subject "x" may not push to "reg.example/app"`))}
	gw := startStore(t, f)
	r := runGatewayCmd(t.Context(), t, newStoreCmd(), "", "import", "--gateway", gw, "reg.example/app:v1")
	if code := exitOf(t, r.err); code != exitCannotTell || !strings.Contains(r.stderr, "may not push") || r.stdout != "" {
		t.Errorf("exit %d, stderr %q", code, r.stderr)
	}
	for _, args := range [][]string{{"import", "--gateway", gw}, {"import", "--gateway", gw, "--output", "yaml", "reg.example/app:v1"}} {
		r := runGatewayCmd(t.Context(), t, newStoreCmd(), "", args...)
		if code := exitOf(t, r.err); code != exitCannotTell || r.stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, r.stdout, r.stderr)
		}
	}
}
