package vulntest

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the directory of the shared advisories, failing t when it
// is missing.
func Dir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(dir, "..", "shared", "testdata", "vulndb")
			if _, err := os.Stat(shared); err != nil {
				t.Fatalf("the shared advisories beside the repository are missing: %v", err)
			}
			return shared
		}
		if filepath.Dir(dir) == dir {
			t.Fatalf("no go.mod above %s", wd)
		}
	}
}

// GoZip returns the path of the Go vulnerability database as osv.dev
// exports it (all.zip, 4,291 records).
func GoZip(t testing.TB) string {
	t.Helper()
	return file(t, "osv", "Go-all.zip")
}

// GHSA returns the paths of the two GitHub-reviewed records, which carry
// the severity the Go database lacks: GHSA-v778-237x-gjrc (CVE-2024-45337,
// golang.org/x/crypto, critical) and GHSA-69ch-w2m2-3vjp (CVE-2022-32149,
// golang.org/x/text, high).
func GHSA(t testing.TB) []string {
	t.Helper()
	return []string{file(t, "ghsa", "GHSA-v778-237x-gjrc.json"), file(t, "ghsa", "GHSA-69ch-w2m2-3vjp.json")}
}

func file(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{Dir(t)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared advisory missing: %v", err)
	}
	return p
}
