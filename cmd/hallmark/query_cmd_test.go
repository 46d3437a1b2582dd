package main

import (
	"bufio"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/internal/golden"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// TestQueryGolden: the human output of every query command.
func TestQueryGolden(t *testing.T) {
	g := queryFixture(3)
	g.unresolved = []string{"reg.example/alpine:3.20: the registry could not be reached"}
	gw := startQuery(t, g)
	tests := []struct {
		name   string
		run    func() runResult
		stderr string
	}{
		{"images-table", func() runResult { return runQuery(t, newImagesCmd, gw, "--stale") },
			"hallmark images: base not checked: reg.example/alpine:3.20: the registry could not be reached\n"},
		{"builds-table", func() runResult { return runQuery(t, newBuildsCmd, gw) }, ""},
		{"audit-table", func() runResult { return runQuery(t, newAuditCmd, gw) }, ""},
		{"audit-unattested", func() runResult { return runQuery(t, newAuditCmd, gw, "--unattested-pushes") }, ""},
		{"build-show", func() runResult { return runQuery(t, newBuildCmd, gw, "show", "b-1") }, ""},
		{"build-show-running", func() runResult { return runQuery(t, newBuildCmd, gw, "show", "b-2") }, ""},
		{"image-show", func() runResult {
			return runQuery(t, newImageCmd, gw, "show", g.images[0].GetRepository()+"@"+g.images[0].GetDigest())
		}, ""},
		{"audit-verify", func() runResult { return runQuery(t, newAuditCmd, gw, "verify") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.run()
			if r.err != nil || r.stderr != tt.stderr {
				t.Fatalf("err %v, stderr %q; want stderr %q", r.err, r.stderr, tt.stderr)
			}
			golden.Check(t, filepath.Join("testdata", "query-"+tt.name+".txt"), []byte(r.stdout))
		})
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, m := range g.methods {
		if m != "GET" {
			t.Errorf("request %d: %s, want GET", i, m)
		}
	}
	for _, a := range g.auth {
		if a != "Bearer "+testToken {
			t.Errorf("Authorization %q", a)
		}
	}
}

func TestImagesFiltersAndPages(t *testing.T) {
	g := queryFixture(7)
	g.maxPage = 2 // short pages: the CLI follows them
	gw := startQuery(t, g)
	r := runQuery(t, newImagesCmd, gw, "--limit", "5", "--base", "reg.example/base:12", "--package", "openssl@3", "--repository", "reg.example/x", "--output", "json")
	if r.err != nil {
		t.Fatalf("%v: %s", r.err, r.stderr)
	}
	var resp hallmarkv1.ListImagesResponse
	if err := protojson.Unmarshal([]byte(r.stdout), &resp); err != nil {
		t.Fatalf("decode: %v\n%s", err, r.stdout)
	}
	if len(resp.GetImages()) != 5 || resp.GetNextPageToken() != "5" {
		t.Errorf("%d images, next %q; want 5 and the token of the rest", len(resp.GetImages()), resp.GetNextPageToken())
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !slices.Equal(g.sizes, []int32{5, 3, 1}) {
		t.Errorf("page sizes asked %v, want 5, 3, 1 (what remains of --limit)", g.sizes)
	}
	req := g.requests[0].(*hallmarkv1.ListImagesRequest)
	if req.GetBase() != "reg.example/base:12" || req.GetPackage() != "openssl@3" || req.GetRepository() != "reg.example/x" || req.GetStale() {
		t.Errorf("request %v", req)
	}
}

func TestBuildsSince(t *testing.T) {
	g := queryFixture(1)
	gw := startQuery(t, g)
	r := runQuery(t, newBuildsCmd, gw, "--since", "2026-12-01T00:00:00Z", "--subject", "repo:acme/app", "--output", "json")
	if r.err != nil {
		t.Fatalf("%v: %s", r.err, r.stderr)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	req := g.requests[0].(*hallmarkv1.ListBuildsRequest)
	if !req.GetSince().AsTime().Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || req.GetSubject() != "repo:acme/app" || req.GetPageSize() != 50 {
		t.Errorf("request %v", req)
	}
}

// TestAuditExport: --output jsonl exports every record, one per line,
// whatever the default --limit of tables.
func TestAuditExport(t *testing.T) {
	g := queryFixture(120)
	gw := startQuery(t, g)
	r := runQuery(t, newAuditCmd, gw, "--output", "jsonl", "--kind", "tag,build", "--kind", "verify", "--digest", qDigest("a"))
	if r.err != nil {
		t.Fatalf("%v: %s", r.err, r.stderr)
	}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	var ids []int64
	for sc.Scan() {
		var e hallmarkv1.AuditEvent
		if err := protojson.Unmarshal(sc.Bytes(), &e); err != nil || !json.Valid([]byte(e.GetDetail())) {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		ids = append(ids, e.GetId())
	}
	if len(ids) != 120 || !slices.IsSorted(ids) {
		t.Errorf("%d records exported, want 120 in order", len(ids))
	}
	g.mu.Lock()
	req := g.requests[0].(*hallmarkv1.ListAuditRequest)
	g.mu.Unlock()
	if !slices.Equal(req.GetKinds(), []string{"tag", "build", "verify"}) || req.GetDigest() != qDigest("a") {
		t.Errorf("request %v", req)
	}

	table := runQuery(t, newAuditCmd, gw)
	if n := strings.Count(table.stdout, "\n"); table.err != nil || n != 51 || !strings.Contains(table.stderr, "more records than --limit 50") {
		t.Errorf("table: %v, %d lines (want a header and 50), stderr %q", table.err, n, table.stderr)
	}
}

func TestAuditVerifyProblems(t *testing.T) {
	g := queryFixture(1)
	g.check.Problems = []string{"chain events: record 3 (id 3) was altered"}
	gw := startQuery(t, g)
	r := runQuery(t, newAuditCmd, gw, "verify")
	if exitOf(t, r.err) != exitFailed || !strings.Contains(r.stdout, "NOT intact") ||
		r.stderr != "hallmark audit verify: the audit log is not intact: 1 problems\n" {
		t.Errorf("exit %v, stdout %q, stderr %q", r.err, r.stdout, r.stderr)
	}
}

func TestQueryErrors(t *testing.T) {
	g := queryFixture(1)
	gw := startQuery(t, g)
	tests := []struct {
		name   string
		run    func() runResult
		stderr string
	}{
		{"not found", func() runResult { return runQuery(t, newImageCmd, gw, "show", "reg.example/nope:1") }, "hallmark image show: ask gateway"},
		{"build not found", func() runResult { return runQuery(t, newBuildCmd, gw, "show", "b-99") }, "hallmark build show: ask gateway"},
		{"bad output", func() runResult { return runQuery(t, newImagesCmd, gw, "--output", "yaml") }, "hallmark images: parse --output"},
		{"jsonl is audit's", func() runResult { return runQuery(t, newBuildsCmd, gw, "--output", "jsonl") }, "hallmark builds: parse --output"},
		{"bad since", func() runResult { return runQuery(t, newAuditCmd, gw, "--since", "last week") }, "hallmark audit: parse --since"},
		{"argument", func() runResult { return runQuery(t, newImagesCmd, gw, "extra") }, "hallmark images: want no arguments"},
		{"no id", func() runResult { return runQuery(t, newBuildCmd, gw, "show") }, "hallmark build show: want exactly one ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.run()
			if exitOf(t, r.err) != exitCannotTell || !strings.HasPrefix(r.stderr, tt.stderr) {
				t.Errorf("exit %v, stderr %q; want 2 and %q", r.err, r.stderr, tt.stderr)
			}
		})
	}
}

func TestParseTimeFlag(t *testing.T) {
	now := time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{in: "2026-12-01T00:00:00Z", want: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{in: "2026-12-01T01:00:00+01:00", want: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{in: "24h", want: now.Add(-24 * time.Hour)},
		{in: "90m", want: now.Add(-90 * time.Minute)},
		{in: "7d", want: now.Add(-7 * 24 * time.Hour)},
		{in: "0d", err: true},
		{in: "-5h", err: true},
		{in: "yesterday", err: true},
		{in: "2026-12-01", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseTimeFlag("since", tt.in, now)
			if tt.err {
				if err == nil {
					t.Errorf("got %v, want an error", got.AsTime())
				}
				return
			}
			if err != nil || !got.AsTime().Equal(tt.want) {
				t.Errorf("got %v, %v; want %v", got.AsTime(), err, tt.want)
			}
		})
	}
}

// TestBuildShowIsASubcommand: "build show ID" asks the gateway for a
// build, while "build ./show" builds a directory named show.
func TestBuildShowIsASubcommand(t *testing.T) {
	g := &fakeGateway{}
	gw := startGateway(t, g)
	parent := t.TempDir()
	writeTree(t, filepath.Join(parent, "show"), map[string]string{"Dockerfile": "FROM golang:1.26\n"})
	t.Chdir(parent)
	r := runCmd(t.Context(), t, "--gateway", gw, "-t", "reg.example/app:1", "--progress", "quiet", "./show")
	if r.err != nil {
		t.Fatalf("build ./show: %v\n%s", r.err, r.stderr)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.builds) != 1 {
		t.Errorf("%d builds, want 1", len(g.builds))
	}
}
