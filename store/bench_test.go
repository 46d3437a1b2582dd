package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// The query benchmarks run on a generated store of the size the issue
// names: 10,000 images, 500 packages each from 20,000 distinct ones
// (5,000,000 links), openssl in 80% of them; every image is built on one
// of 20 bases, 10 of which are themselves images built on 2 roots.
const (
	benchImages   = 10_000
	benchPackages = 20_000
	benchPerImage = 500
	benchBases    = 20
)

func benchDigest(kind string, n int) string {
	return "sha256:" + fmt.Sprintf("%s%0*d", kind, 63, n)[:64]
}

// fillBench writes the benchmark's data set with a few set-based
// statements, which both databases run in seconds.
func fillBench(tb testing.TB, db *DB) {
	tb.Helper()
	ctx := context.Background()
	start := time.Now()
	exec := func(q string, args ...any) {
		tb.Helper()
		t := time.Now()
		if _, err := db.db.ExecContext(ctx, db.q(q), args...); err != nil {
			tb.Fatalf("%s: %v", firstLine(q), err)
		}
		if d := time.Since(t); d > time.Second {
			tb.Logf("%s: %s: %s", db.dialect.name, firstLine(q), d.Round(time.Millisecond))
		}
	}
	series := func(n int) string {
		return fmt.Sprintf("WITH RECURSIVE s (k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < %d) ", n)
	}
	exec(series(benchPackages) + `INSERT INTO packages (purl, type, namespace, name, version, source)
		SELECT 'pkg:deb/debian/pkg-' || k || '@1.' || (k % 7), 'deb', 'debian', 'pkg-' || k, '1.' || (k % 7), 'pkg-' || k FROM s`)
	exec(`UPDATE packages SET purl = 'pkg:deb/debian/openssl@3.0.11', name = 'openssl', version = '3.0.11', source = 'openssl' WHERE id = 1`)
	// Images: 2 roots' children (the 10 built bases), then the rest.
	var rows []string
	for i := 1; i <= benchImages; i++ {
		rows = append(rows, fmt.Sprintf("('reg.example/team-%d/app-%d', '%s', 'b%d', %d)", i%100, i, benchDigest("a", i), i, i))
		if len(rows) == 1000 || i == benchImages {
			exec(`INSERT INTO images (repository, digest, build_id, created) VALUES ` + strings.Join(rows, ", "))
			rows = rows[:0]
		}
	}
	// Images 1–10 are the built bases, on root r1 or r2; the others on
	// one of the 20 bases: b1–b10 (images 1–10) or external e11–e20.
	exec(`INSERT INTO image_bases (image_id, ref, repository, digest, runtime)
		SELECT id, 'reg.example/root:' || (id % 2), 'reg.example/root', 'sha256:r' || (id % 2), 1 FROM images WHERE id <= 10`)
	exec(`INSERT INTO image_bases (image_id, ref, repository, digest, runtime)
		SELECT i.id, CASE WHEN i.id % 20 < 10 THEN 'reg.example/team-' || ((i.id % 20 + 1) % 100) || '/app-' || (i.id % 20 + 1) || ':latest' ELSE 'reg.example/ext:' || (i.id % 20) END,
			'reg.example/base', CASE WHEN i.id % 20 < 10 THEN b.digest ELSE 'sha256:e' || (i.id % 20) END, 1
		FROM images i JOIN images b ON b.id = i.id % 20 + 1 WHERE i.id > 10`)
	// In primary-key order, with the second index built afterwards: a
	// fraction of the time of random inserts into two indexes.
	exec(`DROP INDEX image_packages_image`)
	exec(series(benchPerImage-1)+`INSERT INTO image_packages (package_id, image_id)
		SELECT DISTINCT (i.id * 7919 + s.k * 104729) % (? - 1) + 2 AS p, i.id FROM images i, s WHERE true ORDER BY p, i.id`, benchPackages)
	exec(`INSERT INTO image_packages (package_id, image_id) SELECT 1, id FROM images WHERE id % 5 <> 0 ORDER BY id`)
	exec(`CREATE INDEX image_packages_image ON image_packages (image_id)`)
	exec(`ANALYZE`)
	var n int64
	if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM image_packages`).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("%s: generated %d images, %d package links in %s", db.dialect.name, benchImages, n, time.Since(start).Round(time.Millisecond))
}

// benchStores opens a filled store of each driver; the SQLite file is kept
// in the user's cache directory across runs.
func benchStores(b *testing.B) map[string]*DB {
	b.Helper()
	out := map[string]*DB{}
	cache, err := os.UserCacheDir()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(cache, "hallmark", "bench", fmt.Sprintf("store-v%d-%d.db", len(migrations), benchImages))
	_, statErr := os.Stat(path)
	db, err := Open(b.Context(), DriverSQLite, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if statErr != nil {
		fillBench(b, db)
	}
	out[DriverSQLite] = db
	pg, err := Open(b.Context(), DriverPostgres, testDSN(b, DriverPostgres))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pg.Close() })
	fillBench(b, pg)
	out[DriverPostgres] = pg
	if fi, err := os.Stat(path); err == nil {
		b.Logf("sqlite store of %d images: %d MiB on disk", benchImages, fi.Size()>>20)
	}
	var size int64
	if err := pg.db.QueryRowContext(b.Context(), `SELECT pg_database_size(current_database())`).Scan(&size); err == nil {
		b.Logf("postgres store of %d images: %d MiB on disk", benchImages, size>>20)
	}
	return out
}

// BenchmarkQueries reports the p50 and p99 latency of the queries
// release engineers ask, on both databases.
func BenchmarkQueries(b *testing.B) {
	stores := benchStores(b)
	queries := []struct {
		name string
		q    ImageQuery
		want int
	}{
		{"package=openssl", ImageQuery{Package: &Package{Name: "openssl", Version: "3.0.11"}}, DefaultLimit},
		{"package=rare", ImageQuery{Package: &Package{Type: "deb", Namespace: "debian", Name: "pkg-4242"}}, 1},
		{"base=root (through bases)", ImageQuery{BaseDigest: "sha256:r1"}, DefaultLimit},
		{"base=external ref", ImageQuery{BaseRef: "reg.example/ext:15"}, DefaultLimit},
		{"stale", ImageQuery{Stale: []Base{{Ref: "reg.example/ext:15", Digest: "sha256:new"}}}, 0},
	}
	for _, driver := range []string{DriverSQLite, DriverPostgres} {
		db := stores[driver]
		for _, tt := range queries {
			b.Run(driver+"/"+tt.name, func(b *testing.B) {
				q := tt.q
				q.Readable = all
				var took []time.Duration
				for b.Loop() {
					start := time.Now()
					got, _, err := db.Images(b.Context(), q)
					took = append(took, time.Since(start))
					if err != nil {
						b.Fatal(err)
					}
					if len(got) < tt.want {
						b.Fatalf("%d images, want at least %d", len(got), tt.want)
					}
				}
				reportPercentiles(b, took)
			})
		}
	}
}

// BenchmarkRecordBuild is the store's share of one build: a record with
// 500 packages, 2 bases, 2 tags and 2 attestations.
func BenchmarkRecordBuild(b *testing.B) {
	for _, driver := range testDrivers {
		b.Run(driver, func(b *testing.B) {
			db := emptyBenchStore(b, driver)
			var purls []Package
			for i := range 500 {
				purls = append(purls, Package{PURL: fmt.Sprintf("pkg:deb/debian/p%d@1.%d", i, i%9), Type: "deb", Namespace: "debian", Name: fmt.Sprintf("p%d", i), Version: "1"})
			}
			var took []time.Duration
			n := 0
			for b.Loop() {
				n++
				bl := build(fmt.Sprintf("bench-%d", n), "reg.example/app", "v1", hallmark.Digest(benchDigest("f", n)), 0,
					Base{Ref: "reg.example/base:12", Repository: "reg.example/base", Digest: digest("1"), Runtime: true})
				bl.Packages = purls
				start := time.Now()
				if err := db.RecordBuild(b.Context(), bl); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			reportPercentiles(b, took)
		})
	}
}

// BenchmarkRecordDecisions is the write rate of decisions in the
// recorder's batches of 1,000: admission at 5,000 reviews a second needs
// well over 5,000 a second.
func BenchmarkRecordDecisions(b *testing.B) {
	for _, driver := range testDrivers {
		b.Run(driver, func(b *testing.B) {
			db := emptyBenchStore(b, driver)
			batch := make([]Decision, 1000)
			for i := range batch {
				batch[i] = Decision{Kind: KindAdmission, At: time.Now(), Caller: "system:serviceaccount:kube-system:replicaset-controller",
					Namespace: "prod", Object: fmt.Sprintf("Pod/web-%d", i), Ref: "reg.example/app:v1", Repository: "reg.example/app",
					Digest: digest("a"), Policy: "default", Allowed: true}
			}
			start := time.Now()
			for b.Loop() {
				if err := db.RecordDecisions(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "decisions/s")
		})
	}
}

// emptyBenchStore opens an empty store of driver for one benchmark.
func emptyBenchStore(b *testing.B, driver string) *DB {
	b.Helper()
	db, err := Open(b.Context(), driver, testDSN(b, driver))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func reportPercentiles(b *testing.B, took []time.Duration) {
	slices.Sort(took)
	at := func(p float64) float64 {
		return float64(took[min(len(took)-1, int(float64(len(took))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
