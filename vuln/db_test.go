package vuln

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/vuln/osv"
)

var pypkg = Package{PURL: "pkg:pypi/pkg@1.0", Type: "pypi", Name: "pkg", Version: "1.0"}

func modified(r osv.Record, ts string) osv.Record {
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		panic(err)
	}
	r.Modified = t
	return r
}

func TestAdd(t *testing.T) {
	affects := rec(t, "PYSEC-1", "PyPI", "pkg", `"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]`)
	clean := rec(t, "PYSEC-1", "PyPI", "pkg", `"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "0.5"}]}]`)
	empty := New()
	v1 := empty.Add(osv.ImportInfo{Source: "a"}, []osv.Record{modified(affects, "2024-05-01T00:00:00Z")})
	if len(empty.Match([]Package{pypkg})) != 0 || empty.Len() != 0 || len(v1.Match([]Package{pypkg})) != 1 {
		t.Fatal("Add changed the DB it was called on, or did not add")
	}
	// An older record does not replace a newer one; a newer or equally
	// new one does.
	older := v1.Add(osv.ImportInfo{Source: "b"}, []osv.Record{modified(clean, "2024-04-01T00:00:00Z")})
	newer := v1.Add(osv.ImportInfo{Source: "c"}, []osv.Record{modified(clean, "2024-06-01T00:00:00Z")})
	same := v1.Add(osv.ImportInfo{Source: "d"}, []osv.Record{modified(clean, "2024-05-01T00:00:00Z")})
	if len(older.Match([]Package{pypkg})) != 1 || len(newer.Match([]Package{pypkg})) != 0 || len(same.Match([]Package{pypkg})) != 0 {
		t.Error("last modified does not win")
	}
	if got := newer.NewestModified(); !got.Equal(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("NewestModified = %v", got)
	}
	// Importing the same records again changes nothing but the list of
	// imports.
	again := v1.Add(osv.ImportInfo{Source: "a"}, []osv.Record{modified(affects, "2024-05-01T00:00:00Z")})
	if again.Len() != 1 || len(again.Match([]Package{pypkg})) != 1 || len(again.Imports()) != 2 || again.Imports()[1].Source != "a" {
		t.Errorf("re-import: %d records, %d imports", again.Len(), len(again.Imports()))
	}
	if r, ok := again.Record("PYSEC-1"); !ok || r.ID != "PYSEC-1" {
		t.Errorf("Record = %+v, %v", r, ok)
	}
}

func TestAddWithdrawn(t *testing.T) {
	r := rec(t, "GHSA-aaaa-bbbb-cccc", "PyPI", "pkg", `"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]`)
	withdrawn := modified(r, "2024-06-01T00:00:00Z")
	withdrawn.Withdrawn = withdrawn.Modified
	db := New().Add(osv.ImportInfo{}, []osv.Record{withdrawn})
	if len(db.Match([]Package{pypkg})) != 0 {
		t.Error("a withdrawn record matched")
	}
	// An older copy of a withdrawn record does not bring it back.
	db = db.Add(osv.ImportInfo{}, []osv.Record{modified(r, "2024-05-01T00:00:00Z")})
	if len(db.Match([]Package{pypkg})) != 0 {
		t.Error("an older copy brought back a withdrawn record")
	}
}

// TestConcurrentReaders scans while imports build new DBs.
func TestConcurrentReaders(t *testing.T) {
	db := distroDatabase(t)
	p := pkg(t, purl("deb", "debian", "libc6", "2.36-9", "distro", "debian-12", "upstream", "glibc"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if len(db.Match([]Package{p})) != 1 {
					t.Error("a reader saw a changed DB")
					return
				}
			}
		})
	}
	for range 5 {
		_ = db.Add(osv.ImportInfo{}, []osv.Record{rec(t, "X-1", "PyPI", "pkg", `"versions": ["1.0"]`)})
	}
	wg.Wait()
}

func TestSeverity(t *testing.T) {
	ranges := `"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]`
	tests := []struct {
		name    string
		records []osv.Record
		want    Severity
	}{
		{"v4 before v3", []osv.Record{rec(t, "A-1", "PyPI", "pkg", ranges,
			`"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}, {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N"}]`)},
			Severity{Level: Medium, Score: 6.9, Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", Source: "A-1"}},
		{"v3.0", []osv.Record{rec(t, "A-1", "PyPI", "pkg", ranges, `"severity": [{"type": "CVSS_V3", "score": "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]`)},
			Severity{Level: Critical, Score: 9.8, Vector: "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Source: "A-1"}},
		{"score zero", []osv.Record{rec(t, "A-1", "PyPI", "pkg", ranges, `"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"}]`)},
			Severity{Level: None, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", Source: "A-1"}},
		{"rating", []osv.Record{rec(t, "A-1", "PyPI", "pkg", ranges, `"database_specific": {"severity": "MODERATE"}`)},
			Severity{Level: Medium, Vector: "MODERATE", Source: "A-1"}},
		{"bad vector, then rating", []osv.Record{rec(t, "A-1", "PyPI", "pkg", ranges, `"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:X"}]`, `"database_specific": {"severity": "LOW"}`)},
			Severity{Level: Low, Vector: "LOW", Source: "A-1"}},
		{"v2 only", []osv.Record{rec(t, "A-1", "PyPI", "pkg", ranges, `"severity": [{"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}]`)},
			Severity{Level: Unknown}},
		{"package-level score", []osv.Record{rec(t, "A-1", "PyPI", "pkg", ranges+`, "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"}]`, `"database_specific": {"severity": "HIGH"}`)},
			Severity{Level: Low, Score: 1.8, Vector: "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", Source: "A-1"}},
		{"alias", []osv.Record{
			rec(t, "A-1", "PyPI", "pkg", ranges, `"aliases": ["CVE-2024-1"]`),
			rec(t, "B-1", "npm", "other", ranges, `"aliases": ["CVE-2024-1"]`, `"database_specific": {"severity": "HIGH"}`),
			rec(t, "C-1", "npm", "other", ranges, `"aliases": ["CVE-2024-1"]`, `"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"}]`)},
			Severity{Level: Medium, Score: 5.3, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", Source: "C-1"}},
		{"alias by id", []osv.Record{
			rec(t, "A-1", "PyPI", "pkg", ranges, `"aliases": ["B-1"]`),
			rec(t, "B-1", "npm", "other", ranges, `"database_specific": {"severity": "CRITICAL"}`)},
			Severity{Level: Critical, Vector: "CRITICAL", Source: "B-1"}},
		{"upstream, the highest", []osv.Record{
			rec(t, "DSA-1", "PyPI", "pkg", ranges, `"upstream": ["CVE-1", "CVE-2"]`),
			rec(t, "CVE-1", "npm", "x", ranges, `"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"}]`),
			rec(t, "CVE-2", "npm", "x", ranges, `"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}]`)},
			Severity{Level: High, Score: 7.5, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", Source: "CVE-2"}},
		{"related is not joined", []osv.Record{
			rec(t, "A-1", "PyPI", "pkg", ranges, `"related": ["B-1"]`),
			rec(t, "B-1", "npm", "x", ranges, `"database_specific": {"severity": "HIGH"}`)},
			Severity{Level: Unknown}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := New().Add(osv.ImportInfo{}, tc.records).Match([]Package{pypkg})
			if len(fs) != 1 || fs[0].Severity != tc.want {
				t.Errorf("findings = %+v, want severity %+v", fs, tc.want)
			}
		})
	}
	db := New().Add(osv.ImportInfo{}, []osv.Record{rec(t, "A-1", "PyPI", "pkg", ranges, `"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:X"}]`)})
	if w := strings.Join(db.Warnings(), "\n"); !strings.Contains(w, `record A-1: CVSS_V3 "CVSS:3.1/AV:X" does not score`) {
		t.Errorf("warnings = %q", db.Warnings())
	}
}

func TestLevelOf(t *testing.T) {
	for score, want := range map[float64]Level{10: Critical, 9.0: Critical, 8.9: High, 7.0: High, 6.9: Medium, 4.0: Medium, 3.9: Low, 0.1: Low, 0: None} {
		if got := LevelOf(score); got != want {
			t.Errorf("LevelOf(%v) = %s, want %s", score, got, want)
		}
	}
}

// TestFailedImportLeavesDB: an import with one bad record returns no
// records, so the DB a caller holds stays as it was.
func TestFailedImportLeavesDB(t *testing.T) {
	db := distroDatabase(t)
	p := pkg(t, purl("deb", "debian", "libc6", "2.36-9", "distro", "debian-12", "upstream", "glibc"))
	before := len(db.Match([]Package{p}))
	dir := t.TempDir()
	good := `{"id": "DSA-9999-1", "modified": "2030-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "Debian:12", "name": "glibc"}, "versions": ["2.36-9"]}]}`
	if err := os.WriteFile(filepath.Join(dir, "a.json"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.json"), []byte(`{"id": "DSA-9999-2", "modified": "2030-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "Debian:12"}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	records, info, err := osv.Import(t.Context(), dir)
	if err == nil || records != nil {
		t.Fatalf("Import = %d records, %v", len(records), err)
	}
	db = db.Add(info, records) // what a careless caller would do: still nothing added
	if db.Len() != 9 || len(db.Match([]Package{p})) != before {
		t.Errorf("the DB changed: %d records", db.Len())
	}
}

func TestZeroDB(t *testing.T) {
	var nilDB *DB
	var zero DB
	r := rec(t, "X-1", "PyPI", "pkg", `"versions": ["1.0"]`)
	for _, db := range []*DB{nilDB.Add(osv.ImportInfo{}, []osv.Record{r}), zero.Add(osv.ImportInfo{}, []osv.Record{r})} {
		if len(db.Match([]Package{pypkg})) != 1 {
			t.Error("Add on a nil or zero DB")
		}
	}
	if rep := zero.Scan([]Package{pypkg}); len(rep.Findings) != 0 || len(rep.Unchecked) != 1 {
		t.Errorf("Scan on a zero DB = %+v", rep)
	}
}
