package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchMatcher flags openssl (in 80% of the images) and every 100th
// generated package (200 packages, about 250 images each): about 58,000
// findings. bump changes the severity of the every-100th advisories and
// adds one on pkg-4242, as a database update does.
type benchMatcher struct{ bump bool }

func (m benchMatcher) match(_ context.Context, purls []string) (map[string][]FindingData, error) {
	out := map[string][]FindingData{}
	for _, p := range purls {
		switch {
		case strings.HasPrefix(p, "pkg:deb/debian/openssl@"):
			out[p] = []FindingData{{Advisory: "DSA-5000-1", Aliases: []string{"CVE-2024-0001"}, Severity: "high", Detail: []byte(`{"fixed":["3.0.15"]}`)}}
		case strings.HasPrefix(p, "pkg:deb/debian/pkg-"):
			var k int
			if _, err := fmt.Sscanf(strings.TrimPrefix(p, "pkg:deb/debian/pkg-"), "%d@", &k); err != nil {
				return nil, err
			}
			sev := "medium"
			if m.bump {
				sev = "high"
			}
			if k%100 == 0 {
				out[p] = []FindingData{{Advisory: fmt.Sprintf("DEBIAN-CVE-2024-%d", k), Severity: sev}}
			}
			if m.bump && k == 4242 {
				out[p] = append(out[p], FindingData{Advisory: "DEBIAN-CVE-2026-1", Severity: "critical"})
			}
		}
	}
	return out, nil
}

// BenchmarkSyncFindings is the store's share of re-scanning the query
// benchmark's 10,000 images (20,000 distinct packages, 5,000,000 links):
// the first sync (every finding new), a sync after which nothing changed,
// one after a database update that changes 200 advisories and adds one,
// and the sync of the images recorded since (none). The matching itself
// is vuln's (BenchmarkRescanDebian).
func BenchmarkSyncFindings(b *testing.B) {
	stores := benchStores(b)
	for _, driver := range []string{DriverSQLite, DriverPostgres} {
		db := stores[driver]
		b.Run(driver, func(b *testing.B) {
			ctx := b.Context()
			var first, same, update, incremental time.Duration
			var open int
			n := 0
			for b.Loop() {
				for _, q := range []string{`DELETE FROM vuln_findings`, `DELETE FROM vuln_ids`} {
					if _, err := db.db.ExecContext(ctx, q); err != nil {
						b.Fatal(err)
					}
				}
				step := func(d *time.Duration, since int64, m benchMatcher) FindingSync {
					start := time.Now()
					s, err := db.SyncFindings(ctx, since, m.match)
					*d += time.Since(start)
					if err != nil {
						b.Fatal(err)
					}
					return s
				}
				s := step(&first, 0, benchMatcher{})
				open = s.Open
				if s.New != s.Open || s.Open < 50_000 {
					b.Fatalf("first sync: %+v", s)
				}
				if s = step(&same, 0, benchMatcher{}); s.New+s.Changed+s.Resolved != 0 {
					b.Fatalf("unchanged sync: %+v", s)
				}
				if s = step(&update, 0, benchMatcher{bump: true}); s.Changed < 40_000 || s.New == 0 {
					b.Fatalf("update sync: %+v", s)
				}
				if s = step(&incremental, s.Watermark, benchMatcher{bump: true}); s.Packages != 0 {
					b.Fatalf("incremental sync: %+v", s)
				}
				n++
			}
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
			b.ReportMetric(ms(first), "first-ms")
			b.ReportMetric(ms(same), "unchanged-ms")
			b.ReportMetric(ms(update), "update-ms")
			b.ReportMetric(ms(incremental), "new-images-ms")
			b.ReportMetric(float64(open), "findings")
		})
	}
}
