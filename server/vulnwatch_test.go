package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/vuln"
	"github.com/hallmark-dev/hallmark/vuln/osv"
)

// swapVulns is a VulnSource whose DB a test replaces, as an import does.
type swapVulns struct{ p atomic.Pointer[vuln.DB] }

func (s *swapVulns) DB() *vuln.DB { return s.p.Load() }

// recordSSHImage records a build of an image whose SBOM lists cryptoPURL,
// tagged v1.
func recordSSHImage(t *testing.T, db *store.DB, id, repo string, d hallmark.Digest, n int) {
	t.Helper()
	crypto, err := store.PackageOf(cryptoPURL)
	if err != nil {
		t.Fatal(err)
	}
	b := fixBuild(id, repo, "v1", d, n)
	b.Packages = []store.Package{crypto}
	if err := db.RecordBuild(t.Context(), b); err != nil {
		t.Fatal(err)
	}
}

// findingsOf lists the findings subject may read, as "repository advisory
// severity[ excepted][ resolved]".
func findingsOf(t *testing.T, e *queryEnv, subject string, req *hallmarkv1.ListFindingsRequest) ([]string, *hallmarkv1.ListFindingsResponse) {
	t.Helper()
	c, _ := e.queryClient(subject)
	resp, err := c.ListFindings(t.Context(), connect.NewRequest(req))
	if err != nil {
		t.Fatalf("ListFindings(%v) as %s: %v", req, subject, err)
	}
	var out []string
	for _, f := range resp.Msg.GetFindings() {
		s := f.GetRepository() + " " + f.GetAdvisory() + " " + f.GetSeverity()
		if f.GetExcepted() != nil {
			s += " excepted"
		}
		if f.GetResolved() != nil {
			s += " resolved"
		}
		out = append(out, s)
	}
	return out, resp.Msg
}

// TestVulnWatch: an advisory that arrives after images were recorded
// shows on them without a rebuild, on images recorded later too, in the
// read scope of each caller, in the metrics, and is resolved when the
// advisory no longer matches.
func TestVulnWatch(t *testing.T) {
	src := &swapVulns{}
	exception := vuln.Exception{Advisory: "CVE-2024-45337", Package: "pkg:golang/golang.org/x/crypto", Reason: "no ssh server",
		Expires: time.Now().Add(24 * time.Hour), By: vuln.ByPolicy}
	e := newQueryEnv(t, WithVulnSource(src), WithVulnPolicy(vuln.Policy{FailOn: vuln.Critical, Exceptions: []vuln.Exception{exception}}))
	w := e.server.watch
	if w == nil {
		t.Fatal("a gateway with a store and advisories has no re-scan")
	}
	ctx := t.Context()
	recordSSHImage(t, e.db, "a3", "reg.example/team-a/ssh", fixDigest("5"), 10)

	// No advisories: nothing is scanned, and the answer says so.
	w.once(ctx, true)
	if got, resp := findingsOf(t, e, "team-a", &hallmarkv1.ListFindingsRequest{}); len(got) != 0 || resp.GetAdvisories() != 0 || resp.GetScannedAt() != nil {
		t.Fatalf("without advisories: %q, %v", got, resp)
	}

	src.p.Store(scanDB(t))
	w.once(ctx, false) // the advisories changed: a full re-scan
	got, resp := findingsOf(t, e, "team-a", &hallmarkv1.ListFindingsRequest{Image: "reg.example/team-a/ssh:v1"})
	if !slices.Equal(got, []string{"reg.example/team-a/ssh GHSA-v778-237x-gjrc critical excepted"}) || resp.GetAdvisories() != 2 || resp.GetScannedAt() == nil {
		t.Fatalf("after the import: %q, %v", got, resp)
	}
	f := resp.GetFindings()[0]
	if f.GetPackage() != cryptoPURL || f.GetInstalled() != "0.30.0" || !slices.Equal(f.GetFixed(), []string{"0.31.0"}) ||
		!slices.Contains(f.GetAliases(), "CVE-2024-45337") || f.GetScore() < 9 || f.GetExcepted().GetReason() != "no ssh server" || f.GetFirstSeen() == nil || !slices.Equal(f.GetTags(), []string{"v1"}) {
		t.Errorf("finding: %v", f)
	}

	// A team-c image recorded later holds the package too: it is matched
	// at the next prompt, and only its packages are.
	recordSSHImage(t, e.db, "c2", "reg.example/team-c/ssh", fixDigest("6"), 11)
	w.once(ctx, true)
	if got, _ := findingsOf(t, e, "team-c", &hallmarkv1.ListFindingsRequest{Advisory: "CVE-2024-45337"}); !slices.Equal(got, []string{"reg.example/team-a/ssh GHSA-v778-237x-gjrc critical excepted", "reg.example/team-c/ssh GHSA-v778-237x-gjrc critical excepted"}) {
		t.Errorf("team-c (which reads team-a) sees %q", got)
	}
	if got, _ := findingsOf(t, e, "reader", &hallmarkv1.ListFindingsRequest{Advisory: "GHSA-v778-237x-gjrc"}); !slices.Equal(got, []string{"reg.example/team-a/ssh GHSA-v778-237x-gjrc critical excepted"}) {
		t.Errorf("reader sees %q", got)
	}
	if lines := metricLines(t, e.testEnv, `hallmark_vuln_findings{excepted="true",severity="critical"}`); !slices.Equal(lines, []string{`hallmark_vuln_findings{excepted="true",severity="critical"} 2`}) {
		t.Errorf("metrics: %q", lines)
	}

	// Without the exception the findings count as affected images; the
	// advisory then goes away: the findings are resolved.
	e.server.vulnPolicy = &vuln.Policy{FailOn: vuln.Critical}
	w.full = time.Time{}
	w.once(ctx, false)
	if lines := metricLines(t, e.testEnv, `hallmark_vuln_affected_images{severity="critical"}`); !slices.Equal(lines, []string{`hallmark_vuln_affected_images{severity="critical"} 2`}) {
		t.Errorf("affected images: %q", lines)
	}
	// The advisory is withdrawn (its record replaced by one that no
	// longer lists the module): the findings are resolved, and listed only
	// when asked for.
	withdrawn, _, err := osv.Parse([]byte(`{"id":"GO-2024-3321","modified":"` + time.Now().UTC().Format(time.RFC3339) + `","withdrawn":"` +
		time.Now().UTC().Format(time.RFC3339) + `","affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/crypto"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.31.0"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	ghsa, _ := scanDB(t).Record("GHSA-v778-237x-gjrc")
	ghsa.Withdrawn = withdrawn.Withdrawn
	src.p.Store(vuln.New().Add(osv.ImportInfo{Source: "withdrawn", Records: 2}, []osv.Record{withdrawn, ghsa}))
	w.once(ctx, false)
	if got, _ := findingsOf(t, e, "team-a", &hallmarkv1.ListFindingsRequest{Advisory: "CVE-2024-45337"}); len(got) != 0 {
		t.Errorf("withdrawn, still open: %q", got)
	}
	if got, _ := findingsOf(t, e, "team-a", &hallmarkv1.ListFindingsRequest{Advisory: "CVE-2024-45337", IncludeResolved: true}); !slices.Equal(got, []string{"reg.example/team-a/ssh GHSA-v778-237x-gjrc critical resolved"}) {
		t.Errorf("withdrawn, with resolved: %q", got)
	}
	if lines := metricLines(t, e.testEnv, `hallmark_vuln_finding_changes_total`); !slices.Equal(lines, []string{`hallmark_vuln_finding_changes_total{change="new"} 2`, `hallmark_vuln_finding_changes_total{change="resolved"} 2`}) {
		t.Errorf("changes: %q", lines)
	}
}

// predicateRecorder signs nothing and keeps the predicates it was given,
// by image.
type predicateRecorder struct {
	fakeAttester
	mu    sync.Mutex
	signs map[string][][]byte
}

func (a *predicateRecorder) AttestPredicate(_ context.Context, res hallmark.BuildResult, pt string, pred []byte, _ func(string, ...any)) ([]hallmark.Attestation, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if pt != vuln.PredicateType || res.Pinned != res.Repository+"@"+res.Digest.String() {
		return nil, fmt.Errorf("unexpected %s for %+v", pt, res)
	}
	a.signs[res.Pinned] = append(a.signs[res.Pinned], pred)
	return []hallmark.Attestation{{PredicateType: pt, Digest: baseDigest, Subject: res.Digest, LogIndex: 42}}, nil
}

// TestVulnWatchSignsShippedScans: a re-scan that changes the findings of
// an image a tag points at signs a fresh scan attestation for it, once,
// listing the findings (blocking ones marked); images whose findings did
// not change are not signed again.
func TestVulnWatchSignsShippedScans(t *testing.T) {
	src := &swapVulns{}
	rec := &predicateRecorder{fakeAttester: fakeAttester{builder: &fakeBuilder{}}, signs: map[string][][]byte{}}
	e := newQueryEnv(t, WithVulnSource(src), WithVulnPolicy(vuln.Policy{FailOn: vuln.Critical}), WithAttester(rec))
	w := e.server.watch
	ctx := t.Context()
	recordSSHImage(t, e.db, "a3", "reg.example/team-a/ssh", fixDigest("5"), 10)
	src.p.Store(scanDB(t))
	w.once(ctx, true)
	pinned := "reg.example/team-a/ssh@" + fixDigest("5").String()
	rec.mu.Lock()
	got := rec.signs[pinned]
	n := len(rec.signs)
	rec.mu.Unlock()
	if len(got) != 1 || n != 1 {
		t.Fatalf("signed %d scans of %s, %d images; want 1, 1", len(got), pinned, n)
	}
	var pred struct {
		Scanner struct {
			Result []struct {
				ID       string `json:"id"`
				Blocking bool   `json:"blocking"`
			} `json:"result"`
		} `json:"scanner"`
		Summary struct {
			Blocking int `json:"blocking"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(got[0], &pred); err != nil {
		t.Fatal(err)
	}
	if len(pred.Scanner.Result) != 1 || !pred.Scanner.Result[0].Blocking || pred.Summary.Blocking != 1 {
		t.Errorf("predicate %s", got[0])
	}
	w.full = time.Time{} // a full re-scan that changes nothing signs nothing
	w.once(ctx, false)
	rec.mu.Lock()
	again := len(rec.signs[pinned])
	rec.mu.Unlock()
	if again != 1 {
		t.Errorf("signed %d times after an unchanged re-scan", again)
	}
	if lines := metricLines(t, e.testEnv, `hallmark_vuln_scans_resigned_total`); !slices.Equal(lines, []string{`hallmark_vuln_scans_resigned_total{outcome="signed"} 1`}) {
		t.Errorf("metrics: %q", lines)
	}
}

func TestListFindingsBadInput(t *testing.T) {
	e := newQueryEnv(t, WithVulnSource(&swapVulns{}))
	c, _ := e.queryClient("team-a")
	for _, tt := range []struct {
		req  *hallmarkv1.ListFindingsRequest
		code connect.Code
	}{
		{&hallmarkv1.ListFindingsRequest{Image: "not a reference"}, connect.CodeInvalidArgument},
		{&hallmarkv1.ListFindingsRequest{Advisory: "CVE 1"}, connect.CodeInvalidArgument},
		{&hallmarkv1.ListFindingsRequest{PageSize: 1001}, connect.CodeInvalidArgument},
		{&hallmarkv1.ListFindingsRequest{PageToken: "x"}, connect.CodeInvalidArgument},
		{&hallmarkv1.ListFindingsRequest{Image: "reg.example/team-d/tool:latest"}, connect.CodeNotFound},
		{&hallmarkv1.ListFindingsRequest{Image: "reg.example/team-a/app:nope"}, connect.CodeNotFound},
	} {
		_, err := c.ListFindings(t.Context(), connect.NewRequest(tt.req))
		if connect.CodeOf(err) != tt.code {
			t.Errorf("%v: %v, want %s", tt.req, err, tt.code)
		}
	}
	stranger, _ := e.queryClient("stranger")
	if _, err := stranger.ListFindings(t.Context(), connect.NewRequest(&hallmarkv1.ListFindingsRequest{})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("stranger: %v", err)
	}
}
