package vuln

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/vuln/internal/vulntest"
	"github.com/hallmark-dev/hallmark/vuln/osv"
)

// debianRecords is the size of the generated Debian set: osv.dev's Debian
// export holds about as many DEBIAN-CVE records, plus the DSAs (n/8).
const debianRecords = 50_000

// BenchmarkImportGo imports the whole Go vulnerability database (all.zip,
// 4,291 records) and builds a DB from it.
func BenchmarkImportGo(b *testing.B) {
	path := vulntest.GoZip(b)
	var n int
	for b.Loop() {
		records, info, err := osv.Import(b.Context(), path)
		if err != nil {
			b.Fatal(err)
		}
		_ = New().Add(info, records)
		n = len(records)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAddDebian builds a DB from the generated Debian set (56,250
// records, 156,250 affected entries): what an import of osv.dev's Debian
// export costs after parsing.
func BenchmarkAddDebian(b *testing.B) {
	records := debianAdvisories(debianImage(b), debianRecords)
	for b.Loop() {
		_ = New().Add(osv.ImportInfo{}, records)
	}
	b.ReportMetric(float64(len(records))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkMatchDebian scans the 726 packages of a Debian 12 host against
// the generated Debian set.
func BenchmarkMatchDebian(b *testing.B) {
	pkgs := debianImage(b)
	db := New().Add(osv.ImportInfo{}, debianAdvisories(pkgs, debianRecords))
	var rep Report
	for b.Loop() {
		rep = db.Scan(pkgs)
	}
	if len(rep.Findings) == 0 || len(rep.Unchecked) != 0 {
		b.Fatalf("%d findings, unchecked %+v", len(rep.Findings), rep.Unchecked)
	}
	b.ReportMetric(float64(len(pkgs)), "packages")
	b.ReportMetric(float64(len(rep.Findings)), "findings")
}

// BenchmarkMatchGo scans 200 Go modules and the toolchain against the Go
// database: 50 modules the database names, at versions inside and outside
// their ranges, and 150 it does not.
func BenchmarkMatchGo(b *testing.B) {
	db := goDatabase(b)
	pkgs := goModules(b, db)
	var rep Report
	for b.Loop() {
		rep = db.Scan(pkgs)
	}
	if len(rep.Findings) == 0 {
		b.Fatal("no findings")
	}
	b.ReportMetric(float64(len(pkgs)), "packages")
	b.ReportMetric(float64(len(rep.Findings)), "findings")
}

func goModules(tb testing.TB, db *DB) []Package {
	tb.Helper()
	fixes := map[string]string{} // module → a fixed version
	for _, id := range slices.Sorted(maps.Keys(db.records)) {
		for _, a := range db.records[id].Affected {
			if a.Ecosystem != "Go" || a.Name == "stdlib" || a.Name == "toolchain" || len(a.Ranges) == 0 {
				continue
			}
			for _, e := range a.Ranges[0].Events {
				if e.Kind == osv.Fixed {
					fixes[a.Name] = e.Version
				}
			}
		}
	}
	names := slices.Sorted(maps.Keys(fixes))
	var pkgs []Package
	for i := range 50 {
		name := names[i*len(names)/50]
		v := "v" + fixes[name]
		if i%2 == 1 {
			v = "v0.0.0-20200101000000-abcdefabcdef" // old: inside most ranges
		}
		pkgs = append(pkgs, pkg(tb, "pkg:golang/"+name+"@"+v))
	}
	for i := range 150 {
		pkgs = append(pkgs, pkg(tb, fmt.Sprintf("pkg:golang/github.com/example%d/dep%d@v1.%d.0", i%17, i, i%9)))
	}
	return append(pkgs, pkg(tb, "pkg:golang/stdlib@1.22.3"))
}

// BenchmarkBuildScanDebian is what a build of the Debian 12 host adds
// before the scan attestation is signed: Scan, Decide under failOn
// critical with an exception, and the predicate.
func BenchmarkBuildScanDebian(b *testing.B) {
	pkgs := debianImage(b)
	db := New().Add(osv.ImportInfo{}, debianAdvisories(pkgs, debianRecords))
	p := Policy{FailOn: Critical, Exceptions: []Exception{{Advisory: "CVE-2023-0001", Reason: "r", Expires: time.Now().Add(time.Hour), By: ByPolicy}}}
	var pred []byte
	for b.Loop() {
		start := time.Now()
		rep := db.Scan(pkgs)
		d := p.Decide(rep, start)
		var err error
		if pred, err = Predicate(ScanInfo{Started: start, Finished: time.Now(), Packages: len(pkgs), Policy: p}, db, rep, d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(pred)), "predicate-bytes")
}

// BenchmarkRescanDebian is the matching share of re-scanning every
// recorded image after a database update: 20,000 distinct Debian packages
// (the 726 of a Debian 12 host, each at 28 versions, as many images built
// over months hold) against the generated Debian set, in one Scan, as the
// gateway's re-scan matches each distinct package of its store once.
func BenchmarkRescanDebian(b *testing.B) {
	host := debianImage(b)
	db := New().Add(osv.ImportInfo{}, debianAdvisories(host, debianRecords))
	var pkgs []Package
	for i := 0; len(pkgs) < 20_000; i++ {
		p := host[i%len(host)]
		if i >= len(host) {
			p.PURL += fmt.Sprintf("&rev=%d", i/len(host)) // distinct purls
			p.Version += fmt.Sprintf("+hm%d", i/len(host))
		}
		pkgs = append(pkgs, p)
	}
	var rep Report
	for b.Loop() {
		rep = db.Scan(pkgs)
	}
	b.ReportMetric(float64(len(pkgs)), "packages")
	b.ReportMetric(float64(len(rep.Findings)), "findings")
}
