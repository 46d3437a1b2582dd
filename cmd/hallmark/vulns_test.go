package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/golden"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// findingsFixture: a critical finding that an exception accepts, a high
// and an unknown one open, a resolved critical one.
func findingsFixture() *hallmarkv1.ListFindingsResponse {
	img := func(f *hallmarkv1.Finding) *hallmarkv1.Finding {
		f.Repository, f.Digest, f.FirstSeen, f.Tags = "reg.example/team-a/app", qDigest("a"), qTime(5), []string{"v1", "latest"}
		return f
	}
	return &hallmarkv1.ListFindingsResponse{Advisories: 4293, DatabaseUpdated: qTime(-60), ScannedAt: qTime(10), Findings: []*hallmarkv1.Finding{
		img(&hallmarkv1.Finding{Advisory: "GO-2022-1059", Aliases: []string{"CVE-2022-32149", "GHSA-69ch-w2m2-3vjp"}, Package: "pkg:golang/golang.org/x/text@v0.3.7",
			Installed: "0.3.7", Fixed: []string{"0.3.8"}, Severity: "high", Score: 7.5}),
		img(&hallmarkv1.Finding{Advisory: "GHSA-v778-237x-gjrc", Aliases: []string{"CVE-2024-45337", "GO-2024-3321"}, Package: "pkg:golang/golang.org/x/crypto@v0.30.0",
			Installed: "0.30.0", Fixed: []string{"0.31.0"}, Severity: "critical", Score: 9.1,
			Excepted: &hallmarkv1.FindingException{Reason: "no ssh server", Expires: qTime(60 * 24 * 30), By: "policy"}}),
		img(&hallmarkv1.Finding{Advisory: "GO-2025-0001", Package: "pkg:golang/stdlib@1.26.8", Installed: "1.26.8", Severity: "unknown"}),
		img(&hallmarkv1.Finding{Advisory: "DSA-9999-1", Package: "pkg:deb/debian/openssl@3.0.11", Installed: "3.0.11", Fixed: []string{"3.0.15-1~deb12u1"},
			Severity: "critical", Resolved: qTime(9)}),
	}}
}

func TestVulns(t *testing.T) {
	g := queryFixture(0)
	g.findings = findingsFixture()
	gw := startQuery(t, g)
	img := "reg.example/team-a/app@" + qDigest("a")

	r := runQuery(t, newVulnsCmd, gw, img)
	if exitCodeOf(r.err) != 1 || !strings.Contains(r.stderr, "2 open findings at or above --fail-on (1 high, 1 unknown)") {
		t.Errorf("default --fail-on any: %v\n%s", r.err, r.stderr)
	}
	golden.Check(t, filepath.Join("testdata", "vulns-image.txt"), []byte(r.stdout))

	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{img, "--fail-on", "high"}, 1},
		{[]string{img, "--fail-on", "critical"}, 0}, // the critical one is excepted, the other resolved
		{[]string{img, "--fail-on", "none"}, 0},
		{[]string{"--advisory", "CVE-2024-45337", "--fail-on", "critical"}, 0},
		{[]string{img, "--fail-on", "severe"}, 2},
		{[]string{"reg.example/nope:v1"}, 2},
		{[]string{"a", "b"}, 2},
	} {
		if r := runQuery(t, newVulnsCmd, gw, tt.args...); exitCodeOf(r.err) != tt.code {
			t.Errorf("%q: exit %d, want %d\n%s", tt.args, exitCodeOf(r.err), tt.code, r.stderr)
		}
	}
	g.mu.Lock()
	last := g.requests[len(g.requests)-1].(*hallmarkv1.ListFindingsRequest)
	g.mu.Unlock()
	if last.GetImage() != "reg.example/nope:v1" {
		t.Errorf("request %v", last)
	}

	r = runQuery(t, newVulnsCmd, gw, "--advisory", "CVE-2024-45337", "--fail-on", "none")
	if r.err != nil || !strings.Contains(r.stdout, "reg.example/team-a/app@sha256:aaaaaaaaaaaa (v1,latest)  critical  GHSA-v778-237x-gjrc") {
		t.Errorf("the image column: %v\n%s", r.err, r.stdout)
	}
	r = runQuery(t, newVulnsCmd, gw, "--advisory", "CVE-2024-45337", "--resolved", "--output", "json")
	if exitCodeOf(r.err) != 1 || !strings.Contains(r.stdout, `"advisory": "GHSA-v778-237x-gjrc"`) {
		t.Errorf("json: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	g.mu.Lock()
	req := g.requests[len(g.requests)-1].(*hallmarkv1.ListFindingsRequest)
	g.mu.Unlock()
	if req.GetAdvisory() != "CVE-2024-45337" || !req.GetIncludeResolved() || req.GetImage() != "" {
		t.Errorf("request %v", req)
	}

	// No advisories, or no scan yet: the answer says nothing, exit 2.
	g.findings = &hallmarkv1.ListFindingsResponse{}
	if r := runQuery(t, newVulnsCmd, gw, img); exitCodeOf(r.err) != 2 || !strings.Contains(r.stderr, "no vulnerability advisories loaded") {
		t.Errorf("no advisories: %v\n%s", r.err, r.stderr)
	}
	g.findings = &hallmarkv1.ListFindingsResponse{Advisories: 3}
	if r := runQuery(t, newVulnsCmd, gw, img); exitCodeOf(r.err) != 2 || !strings.Contains(r.stderr, "not scanned its images yet") {
		t.Errorf("no scan: %v\n%s", r.err, r.stderr)
	}
	g.findings = &hallmarkv1.ListFindingsResponse{Advisories: 3, ScannedAt: qTime(1)}
	if r := runQuery(t, newVulnsCmd, gw, img); r.err != nil || !slices.Contains(strings.Split(r.stdout, "\n"), "SEVERITY  ADVISORY  ALIASES  PACKAGE  INSTALLED  FIXED  FIRST SEEN  STATUS") {
		t.Errorf("clean: %v\n%q", r.err, r.stdout)
	}
}
