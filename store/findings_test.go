package store

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// advisoryMatcher finds the advisories of advisories whose purl prefix
// matches, and records the purls it was asked about.
type advisoryMatcher struct {
	advisories map[string][]FindingData // purl prefix → findings
	asked      []string
}

func (m *advisoryMatcher) match(_ context.Context, purls []string) (map[string][]FindingData, error) {
	m.asked = append(m.asked[:0], purls...)
	out := map[string][]FindingData{}
	for _, p := range purls {
		for prefix, fs := range m.advisories {
			if strings.HasPrefix(p, prefix) {
				out[p] = append(out[p], fs...)
			}
		}
	}
	return out, nil
}

func findingsOf(t *testing.T, db *DB, q FindingQuery) []string {
	t.Helper()
	if q.Readable == nil {
		q.Readable = all
	}
	fs, _, err := db.Findings(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		s := f.Repository + " " + f.Advisory + " " + f.Severity
		if len(f.Aliases) > 0 {
			s += " " + strings.Join(f.Aliases, ",")
		}
		if f.Excepted {
			s += " excepted"
		}
		if len(f.Tags) > 0 {
			s += " :" + strings.Join(f.Tags, ",")
		}
		if !f.Resolved.IsZero() {
			s += " resolved"
		}
		out = append(out, s)
	}
	return out
}

func TestSyncFindings(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		fixture(t, db)
		m := &advisoryMatcher{advisories: map[string][]FindingData{
			"pkg:deb/debian/openssl@3.0.11": {{Advisory: "DSA-1", Aliases: []string{"CVE-2024-1"}, Severity: "high", Detail: json.RawMessage(`{"fixed":["3.0.15"]}`)}},
		}}
		sync, err := db.SyncFindings(ctx, 0, m.match)
		if err != nil {
			t.Fatal(err)
		}
		// Six distinct packages in five images; openssl is in four.
		if sync.Packages != 6 || sync.Affected != 1 || sync.New != 4 || sync.Open != 4 || sync.Resolved != 0 || sync.Watermark != 5 {
			t.Errorf("first sync: %+v", sync)
		}
		if len(sync.Shipped) != 4 || sync.Shipped[0] != (ImageRef{"reg.example/base", digest("1")}) {
			t.Errorf("shipped images: %+v", sync.Shipped)
		}
		if purls, err := db.ImagePackages(ctx, "reg.example/team-a/app", digest("a")); err != nil || len(purls) != 4 {
			t.Errorf("packages of an image: %q, %v", purls, err)
		}
		want := []string{"reg.example/base DSA-1 high CVE-2024-1 :12", "reg.example/team-a/app DSA-1 high CVE-2024-1 :v1",
			"reg.example/team-a/worker DSA-1 high CVE-2024-1 :v1", "reg.example/team-c/svc DSA-1 high CVE-2024-1 :v3"}
		if got := findingsOf(t, db, FindingQuery{Advisory: "CVE-2024-1"}); !slices.Equal(got, want) {
			t.Errorf("by alias: %q, want %q", got, want)
		}
		if got := findingsOf(t, db, FindingQuery{Repository: "reg.example/team-a/app", Digest: digest("a")}); !slices.Equal(got, want[1:2]) {
			t.Errorf("of one image: %q", got)
		}
		if got := findingsOf(t, db, FindingQuery{Advisory: "CVE-2024-1", Readable: func(r string) bool { return r == "reg.example/team-c/svc" }}); !slices.Equal(got, want[3:]) {
			t.Errorf("read scope: %q", got)
		}

		// The same data again changes nothing.
		if sync, err = db.SyncFindings(ctx, 0, m.match); err != nil || sync.New+sync.Changed+sync.Resolved != 0 || sync.Open != 4 || len(sync.Shipped) != 0 {
			t.Errorf("second sync: %+v, %v", sync, err)
		}
		// A new advisory on stdlib, a changed severity, an exception.
		m.advisories["pkg:golang/stdlib@1.26.8"] = []FindingData{{Advisory: "GO-2026-1", Severity: "critical", Excepted: true}}
		m.advisories["pkg:deb/debian/openssl@3.0.11"][0].Severity = "critical"
		if sync, err = db.SyncFindings(ctx, 0, m.match); err != nil || sync.New != 2 || sync.Changed != 4 || sync.Open != 6 {
			t.Errorf("third sync: %+v, %v", sync, err)
		}
		if got := findingsOf(t, db, FindingQuery{Advisory: "GO-2026-1"}); !slices.Equal(got, []string{"reg.example/team-a/app GO-2026-1 critical excepted :v1", "reg.example/team-c/svc GO-2026-1 critical excepted :v3"}) {
			t.Errorf("stdlib: %q", got)
		}
		counts, err := db.FindingCounts(ctx)
		if err != nil || !slices.Equal(counts, []FindingCount{{Severity: "critical", Findings: 4, Images: 4}, {Severity: "critical", Excepted: true, Findings: 2, Images: 2}}) {
			t.Errorf("counts: %+v, %v", counts, err)
		}

		// The advisory is withdrawn: the findings are resolved, kept when
		// asked for, and reopen with their first-seen time.
		dsa := m.advisories["pkg:deb/debian/openssl@3.0.11"]
		delete(m.advisories, "pkg:deb/debian/openssl@3.0.11")
		if sync, err = db.SyncFindings(ctx, 0, m.match); err != nil || sync.Resolved != 4 || sync.Open != 2 {
			t.Errorf("fourth sync: %+v, %v", sync, err)
		}
		if got := findingsOf(t, db, FindingQuery{Advisory: "DSA-1"}); len(got) != 0 {
			t.Errorf("resolved findings listed as open: %q", got)
		}
		if got := findingsOf(t, db, FindingQuery{Advisory: "DSA-1", Resolved: true}); len(got) != 4 || !strings.Contains(got[0], " resolved") {
			t.Errorf("resolved: %q", got)
		}
		before, _, _ := db.Findings(ctx, FindingQuery{Readable: all, Advisory: "DSA-1", Resolved: true})
		m.advisories["pkg:deb/debian/openssl@3.0.11"] = dsa
		if sync, err = db.SyncFindings(ctx, 0, m.match); err != nil || sync.New != 4 || sync.Open != 6 {
			t.Errorf("fifth sync: %+v, %v", sync, err)
		}
		after, _, _ := db.Findings(ctx, FindingQuery{Readable: all, Advisory: "DSA-1"})
		if len(after) != 4 || !after[0].FirstSeen.Equal(before[0].FirstSeen) || !after[0].Resolved.IsZero() {
			t.Errorf("reopened: %+v, before %+v", after, before)
		}

		// A new image: only its packages are matched, and only it changes.
		e := build("e1", "reg.example/team-e/new", "v1", digest("e"), 9)
		e.Packages = pkgs(t, "pkg:deb/debian/openssl@3.0.11?arch=amd64&distro=debian-12", "pkg:cargo/ripgrep@14.1.0")
		if err := db.RecordBuild(ctx, e); err != nil {
			t.Fatal(err)
		}
		if sync, err = db.SyncFindings(ctx, sync.Watermark, m.match); err != nil || sync.Packages != 2 || sync.New != 1 || sync.Resolved != 0 || sync.Open != 1 {
			t.Errorf("incremental sync: %+v, %v", sync, err)
		}
		if len(m.asked) != 2 {
			t.Errorf("incremental sync matched %q, want the new image's two packages", m.asked)
		}
		if sync, err = db.SyncFindings(ctx, sync.Watermark, m.match); err != nil || sync.Packages != 0 {
			t.Errorf("nothing new: %+v, %v", sync, err)
		}
	})
}

func TestFindingsPagesAndErrors(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		fixture(t, db)
		m := &advisoryMatcher{advisories: map[string][]FindingData{
			"pkg:deb/debian/": {{Advisory: "DSA-1", Severity: "high"}, {Advisory: "DSA-2", Severity: "low"}},
		}}
		if _, err := db.SyncFindings(ctx, 0, m.match); err != nil {
			t.Fatal(err)
		}
		var got []Finding
		q := FindingQuery{Readable: all, Page: Page{Limit: 3}}
		for range 10 {
			page, next, err := db.Findings(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			q.Cursor = next
		}
		if len(got) != 16 { // 2 advisories × 2 packages × 4 images
			t.Errorf("paged through %d findings, want 16", len(got))
		}
		for _, bad := range []FindingQuery{
			{Readable: all, Repository: "reg.example/base"},
			{Readable: all, Page: Page{Limit: MaxLimit + 1}},
			{Readable: all, Page: Page{Cursor: "nope"}},
		} {
			if _, _, err := db.Findings(ctx, bad); err == nil {
				t.Errorf("%+v: no error", bad)
			}
		}
		if fs, _, err := db.Findings(ctx, FindingQuery{Advisory: "DSA-1"}); err != nil || len(fs) != 0 {
			t.Errorf("no read scope: %d findings, %v", len(fs), err)
		}
	})
}
