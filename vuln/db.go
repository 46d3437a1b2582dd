package vuln

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/vuln/osv"
)

// DB is an immutable, in-memory advisory database: the loaded records,
// indexed by ecosystem and package name. Add returns a new DB, so a reader
// never sees half an import; a DB is safe for concurrent use.
type DB struct {
	records    map[string]*osv.Record // by id, withdrawn ones too
	index      map[key][]*entry       // by ecosystem and package name
	ecosystems map[string]bool        // ecosystem keys with at least one entry
	imports    []osv.ImportInfo
	warnings   []string
}

// key looks up the affected entries of one package.
type key struct{ ecosystem, name string }

// maxDBWarnings bounds the warnings a DB keeps.
const maxDBWarnings = 1000

// New returns an empty DB.
func New() *DB {
	return &DB{records: map[string]*osv.Record{}, index: map[key][]*entry{}, ecosystems: map[string]bool{}}
}

// Add returns a new DB holding db's records and those of one import. A
// record replaces the loaded record of its id unless it is older (its
// Modified is before the loaded one's), so the newer import wins a tie and
// importing the same records again changes nothing. Withdrawn records are
// kept, so that an older copy cannot come back, and never matched. The DB
// keeps the records' slices: the caller must not change them afterwards.
// A nil or zero DB is empty.
func (db *DB) Add(info osv.ImportInfo, records []osv.Record) *DB {
	return db.AddImports([]osv.ImportInfo{info}, records)
}

// AddImports is Add for the records of several imports read together (from
// a store that holds them): the records are indexed once and every import
// is listed, in the order given.
func (db *DB) AddImports(infos []osv.ImportInfo, records []osv.Record) *DB {
	if db == nil {
		db = New()
	}
	next := &DB{records: make(map[string]*osv.Record, len(db.records)+len(records)), imports: slices.Clone(db.imports)}
	maps.Copy(next.records, db.records)
	for i := range records {
		r := records[i]
		if old, ok := next.records[r.ID]; ok && r.Modified.Before(old.Modified) {
			continue
		}
		r.Details = "" // findings carry the summary; the details would only take memory
		next.records[r.ID] = &r
	}
	next.imports = append(next.imports, infos...)
	next.build()
	return next
}

// Imports returns the imports the DB was built from, in order.
func (db *DB) Imports() []osv.ImportInfo { return slices.Clone(db.imports) }

// Len returns the number of records loaded, withdrawn ones included.
func (db *DB) Len() int { return len(db.records) }

// Record returns the loaded record with the id, with its Details dropped.
func (db *DB) Record(id string) (osv.Record, bool) {
	r, ok := db.records[id]
	if !ok {
		return osv.Record{}, false
	}
	return *r, true
}

// Warnings returns what the DB keeps but cannot evaluate: ranges of an
// unknown type or with a version that does not parse in its ecosystem,
// ecosystems without a version ordering, CVSS vectors that do not score.
func (db *DB) Warnings() []string { return slices.Clone(db.warnings) }

// NewestModified returns the latest Modified of the loaded records.
func (db *DB) NewestModified() time.Time {
	var t time.Time
	for _, r := range db.records {
		if r.Modified.After(t) {
			t = r.Modified
		}
	}
	return t
}

// build indexes the records: every affected entry of a standing record
// under its ecosystem and name, its events parsed and sorted once, its
// severity resolved, aliases joined.
func (db *DB) build() {
	db.index = map[key][]*entry{}
	db.ecosystems = map[string]bool{}
	db.warnings = nil
	sev := db.severities()
	unordered := map[string]int{} // ecosystems without a version ordering
	for _, id := range slices.Sorted(maps.Keys(db.records)) {
		r := db.records[id]
		if r.IsWithdrawn() {
			continue
		}
		for i := range r.Affected {
			a := &r.Affected[i]
			if a.Ecosystem == "" {
				continue // only GIT ranges, as in osv.dev's CVE records
			}
			e, warnings := newEntry(r, a, sev)
			for _, w := range warnings {
				db.warn(w)
			}
			if e == nil {
				base, _, _ := strings.Cut(a.Ecosystem, ":")
				unordered[base]++
				continue
			}
			k := key{ecosystemKey(a.Ecosystem), nameKey(a.Ecosystem, a.Name)}
			db.index[k] = append(db.index[k], e)
			db.ecosystems[k.ecosystem] = true
		}
	}
	for _, eco := range slices.Sorted(maps.Keys(unordered)) {
		db.warn(fmt.Sprintf("ecosystem %q has no version ordering: %d affected packages not matched", hallmark.Clip(eco, 64), unordered[eco]))
	}
}

func (db *DB) warn(w string) {
	switch {
	case len(db.warnings) < maxDBWarnings:
		db.warnings = append(db.warnings, w)
	case len(db.warnings) == maxDBWarnings:
		db.warnings = append(db.warnings, "more warnings left out")
	}
}

// ecosystemKey is the index key of an OSV ecosystem: Ubuntu's ":LTS"
// suffix is dropped, so that an SBOM's "ubuntu-22.04" finds
// "Ubuntu:22.04:LTS" and a non-LTS "Ubuntu:23.10" alike.
func ecosystemKey(eco string) string {
	if strings.HasPrefix(eco, "Ubuntu:") {
		return strings.TrimSuffix(eco, ":LTS")
	}
	return eco
}

// nameKey is the index key of a package name: PEP 503's normalization
// for PyPI, lower case for the ecosystems whose names ignore case (NuGet,
// Packagist) and for Go, whose module paths a purl parser lowercases.
func nameKey(eco, name string) string {
	base, _, _ := strings.Cut(eco, ":")
	switch base {
	case "PyPI":
		return pep503().ReplaceAllString(strings.ToLower(name), "-")
	case "Go", "NuGet", "Packagist":
		return strings.ToLower(name)
	}
	return name
}

var pep503 = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[-_.]+`) })
