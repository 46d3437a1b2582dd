package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/storebench"
)

// fillBench writes storebench's data set into db.
func fillBench(tb testing.TB, db *DB) {
	tb.Helper()
	logf := func(format string, args ...any) { tb.Logf(db.dialect.name+": "+format, args...) }
	if err := storebench.Fill(context.Background(), db.db, storebench.Full, logf); err != nil {
		tb.Fatal(err)
	}
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
	path := filepath.Join(cache, "hallmark", "bench", fmt.Sprintf("store-v%d-d%d-%d.db", len(migrations), storebench.Version, storebench.Full.Images))
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
		b.Logf("sqlite store of %d images: %d MiB on disk", storebench.Full.Images, fi.Size()>>20)
	}
	var size int64
	if err := pg.db.QueryRowContext(b.Context(), `SELECT pg_database_size(current_database())`).Scan(&size); err == nil {
		b.Logf("postgres store of %d images: %d MiB on disk", storebench.Full.Images, size>>20)
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
		{"base=root (through bases)", ImageQuery{BaseDigest: hallmark.Digest(storebench.RootDigest(1))}, DefaultLimit},
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
				bl := build(fmt.Sprintf("bench-%d", n), "reg.example/app", "v1", hallmark.Digest(storebench.Digest("f", n)), 0,
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
