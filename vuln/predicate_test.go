package vuln

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/golden"
	"github.com/hallmark-dev/hallmark/vuln/osv"
)

func TestPredicate(t *testing.T) {
	mod := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	var recs []osv.Record
	for _, js := range []string{
		`{"id":"GO-2024-3321","modified":"2026-12-04T12:00:00Z","aliases":["CVE-2024-45337"],"affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/crypto"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.31.0"}]}]}]}`,
		`{"id":"CVE-2024-45337","modified":"2026-12-01T00:00:00Z","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N"}]}`,
		`{"id":"GO-2025-0001","modified":"2026-11-01T00:00:00Z","database_specific":{"severity":"HIGH"},"affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/net"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`,
	} {
		r, _, err := osv.Parse([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	db := New().Add(osv.ImportInfo{Source: "go.zip", SHA256: "3d", Records: 3, NewestModified: mod}, recs)
	pkgs := []Package{mustPackage(t, "pkg:golang/golang.org/x/crypto@v0.30.0"), mustPackage(t, "pkg:golang/golang.org/x/net@v0.1.0"), mustPackage(t, "pkg:pypi/requests@2.0.0")}
	rep := db.Scan(pkgs)
	p := Policy{FailOn: High, MaxDatabaseAge: 48 * time.Hour, Exceptions: []Exception{
		{Advisory: "CVE-2024-45337", Reason: "no ssh server", Expires: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), By: ByPolicy},
	}}
	start := mod.Add(25 * time.Hour)
	d := p.Decide(rep, start)
	got, err := Predicate(ScanInfo{ScannerVersion: "v1.2.3", Started: start, Finished: start.Add(3 * time.Millisecond), Packages: 4, Unmapped: 1, Policy: p}, db, rep, d)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	golden.Check(t, filepath.Join("testdata", "predicate.golden.json"), out.Bytes())

	empty, err := Predicate(ScanInfo{Started: start, Finished: start}, nil, Report{}, Decision{})
	if err != nil || !bytes.Contains(empty, []byte(`"result":[]`)) || !bytes.Contains(empty, []byte(`"failOn":"none"`)) {
		t.Errorf("empty predicate %s, %v", empty, err)
	}
}

func mustPackage(t *testing.T, purl string) Package {
	t.Helper()
	p, err := PackageFromPURL(purl)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
