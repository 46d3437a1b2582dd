package store

import (
	"archive/zip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// goAdvisories reads the records of the Go vulnerability database's
// all.zip, beside the repository in ../shared/testdata/vulndb (as
// vuln/internal/vulntest finds it; the store may not import vuln).
func goAdvisories(b *testing.B) []AdvisoryRecord {
	b.Helper()
	path := filepath.Join("..", "..", "shared", "testdata", "vulndb", "osv", "Go-all.zip")
	zr, err := zip.OpenReader(path)
	if err != nil {
		b.Fatalf("the shared advisories beside the repository are missing: %v", err)
	}
	defer zr.Close()
	var out []AdvisoryRecord
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			b.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			b.Fatal(err)
		}
		var head struct {
			ID       string    `json:"id"`
			Modified time.Time `json:"modified"`
		}
		if err := json.Unmarshal(data, &head); err != nil {
			b.Fatalf("%s: %v", f.Name, err)
		}
		out = append(out, AdvisoryRecord{ID: head.ID, Modified: head.Modified, JSON: data})
	}
	return out
}

// BenchmarkAdvisories is the store's share of importing the Go database
// (4,291 records, 7.9 MB of JSON) into an empty store, importing it again
// (nothing changes), and reading it all back as a gateway does at start.
func BenchmarkAdvisories(b *testing.B) {
	if _, err := os.Stat(filepath.Join("..", "..", "shared")); err != nil {
		b.Fatalf("the shared test data beside the repository is missing: %v", err)
	}
	records := goAdvisories(b)
	for _, driver := range testDrivers {
		b.Run(driver, func(b *testing.B) {
			var record, again, read time.Duration
			n := 0
			for b.Loop() {
				n++
				db := emptyBenchStore(b, driver)
				imp := VulnImport{Source: "Go-all.zip", SHA256: "b2a3", Actor: "bench"}
				start := time.Now()
				if got, err := db.RecordAdvisories(b.Context(), imp, records); err != nil || got.Changed != len(records) {
					b.Fatalf("RecordAdvisories = %+v, %v", got, err)
				}
				record += time.Since(start)
				start = time.Now()
				if got, err := db.RecordAdvisories(b.Context(), imp, records); err != nil || got.Changed != 0 {
					b.Fatalf("RecordAdvisories again = %+v, %v", got, err)
				}
				again += time.Since(start)
				start = time.Now()
				count := 0
				if err := db.Advisories(b.Context(), 0, func(string, []byte) error { count++; return nil }); err != nil || count != len(records) {
					b.Fatalf("Advisories = %d, %v", count, err)
				}
				read += time.Since(start)
			}
			b.ReportMetric(float64(record.Milliseconds())/float64(n), "record-ms")
			b.ReportMetric(float64(again.Milliseconds())/float64(n), "again-ms")
			b.ReportMetric(float64(read.Milliseconds())/float64(n), "read-ms")
		})
	}
}
