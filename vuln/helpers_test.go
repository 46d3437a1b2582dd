package vuln

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/package-url/packageurl-go"

	"github.com/hallmark-dev/hallmark/vuln/internal/vulntest"
	"github.com/hallmark-dev/hallmark/vuln/osv"
)

// load adds the imports of the paths to db.
func load(t testing.TB, db *DB, paths ...string) *DB {
	t.Helper()
	for _, p := range paths {
		records, info, err := osv.Import(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		db = db.Add(info, records)
	}
	return db
}

var (
	goOnce sync.Once
	goDB   *DB
)

// goDatabase returns the Go vulnerability database with the two GitHub
// records that carry severity for two of its advisories, loaded once.
func goDatabase(t testing.TB) *DB {
	t.Helper()
	paths := append([]string{vulntest.GoZip(t)}, vulntest.GHSA(t)...)
	goOnce.Do(func() { goDB = load(t, New(), paths...) })
	if goDB == nil {
		t.Fatal("the Go database did not load")
	}
	return goDB
}

// distroDatabase returns the Debian, Ubuntu and Alpine advisories of
// testdata/.
func distroDatabase(t testing.TB) *DB {
	t.Helper()
	return load(t, New(), filepath.Join("testdata", "debian"), filepath.Join("testdata", "ubuntu"), filepath.Join("testdata", "alpine"))
}

// purl writes a package URL as Hallmark's SBOM does.
func purl(typ, ns, name, version string, qualifiers ...string) string {
	var q packageurl.Qualifiers
	for i := 0; i+1 < len(qualifiers); i += 2 {
		q = append(q, packageurl.Qualifier{Key: qualifiers[i], Value: qualifiers[i+1]})
	}
	return packageurl.NewPackageURL(typ, ns, name, version, q, "").ToString()
}

// pkg reads a purl, failing t when it does not parse.
func pkg(t testing.TB, p string) Package {
	t.Helper()
	out, err := PackageFromPURL(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// byID returns the findings with the id.
func byID(fs []Finding, id string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.ID == id {
			out = append(out, f)
		}
	}
	return out
}
