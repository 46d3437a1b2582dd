package osv

import "time"

// Range types of the OSV schema. Only SEMVER and ECOSYSTEM ranges can be
// evaluated against a package version; GIT ranges need the repository's
// commit graph. Ranges of other types are kept as written, with a warning.
const (
	RangeSemVer    = "SEMVER"
	RangeEcosystem = "ECOSYSTEM"
	RangeGit       = "GIT"
)

// Severity types of the OSV schema that a consumer can score.
const (
	SeverityCVSSv2 = "CVSS_V2"
	SeverityCVSSv3 = "CVSS_V3"
	SeverityCVSSv4 = "CVSS_V4"
	SeverityUbuntu = "Ubuntu" // Ubuntu's priority: negligible, low, medium, high, critical
)

// Record is one OSV advisory, as much of it as matching, severity and
// reporting use. Unknown fields are ignored, as the schema asks of
// consumers.
type Record struct {
	// SchemaVersion is the OSV schema version the record declares, or "".
	SchemaVersion string
	// ID is the advisory's identifier ("GO-2024-3321", "DSA-5514-1").
	ID string
	// Modified is when the record last changed; Published when it was
	// first published (zero when absent); Withdrawn when it was withdrawn
	// (zero when it stands).
	Modified, Published, Withdrawn time.Time
	// Aliases name the same vulnerability in other databases; Upstream the
	// vulnerabilities this record's was derived from (a distribution's
	// advisory naming CVEs); Related other vulnerabilities that are not the
	// same.
	Aliases, Upstream, Related []string
	// Summary is one line; Details the long description.
	Summary, Details string
	// Severity are the record's scores.
	Severity []Severity
	// Affected are the affected packages and their versions.
	Affected []Affected
	// DatabaseSeverity is database_specific.severity when it is a string:
	// GitHub's "CRITICAL", "HIGH", "MODERATE", "LOW"; "" otherwise.
	DatabaseSeverity string
}

// IsWithdrawn reports whether the record was withdrawn.
func (r *Record) IsWithdrawn() bool { return !r.Withdrawn.IsZero() }

// Severity is one score of a record or an affected package.
type Severity struct {
	// Type is SeverityCVSSv3, SeverityCVSSv4, … as the record writes it.
	Type string
	// Score is the vector or rating.
	Score string
}

// Affected is one affected package of a record.
type Affected struct {
	// Ecosystem and Name identify the package ("Debian:12" "glibc"); both
	// are empty for an entry that only lists GIT ranges (osv.dev's CVE
	// records).
	Ecosystem, Name string
	// PURL is the package's purl without version, when the record gives it.
	PURL string
	// Severity are scores for this package only.
	Severity []Severity
	// Ranges are the affected ranges, Versions the affected versions
	// listed one by one.
	Ranges   []Range
	Versions []string
}

// Range is one affected range: events on a timeline ordered by Type.
type Range struct {
	// Type is RangeSemVer, RangeEcosystem, RangeGit or another type, kept
	// as written and not evaluated.
	Type string
	// Repo is the repository of a GIT range.
	Repo string
	// Events are the range's events, in the order the record lists them.
	Events []Event
}

// EventKind is the kind of a range event.
type EventKind uint8

// The kinds of range events.
const (
	Introduced EventKind = iota + 1
	Fixed
	LastAffected
	Limit
)

// String returns the event's JSON key.
func (k EventKind) String() string {
	switch k {
	case Introduced:
		return "introduced"
	case Fixed:
		return "fixed"
	case LastAffected:
		return "last_affected"
	case Limit:
		return "limit"
	}
	return "unknown"
}

// Event is one event of a range: a version where the vulnerability was
// introduced, fixed, last seen, or a limit.
type Event struct {
	Kind    EventKind
	Version string
}

// ImportInfo describes one import: what was read and what it held.
type ImportInfo struct {
	// Source is the path or name imported.
	Source string
	// SHA256 is the hex sha256 of the file or archive imported; for a
	// directory, of its listing: one line "<relative path>\x00<sha256 of
	// the file>\n" per JSON file, in lexical order.
	SHA256 string
	// Records is how many records were imported.
	Records int
	// NewestModified is the latest Modified of the records (zero when all
	// are zero, as in the Go vulnerability database's export).
	NewestModified time.Time
	// Warnings are what was kept but will not be evaluated (ranges of
	// unknown types) and what was skipped (entries that are not .json),
	// at most 100 of them and then a count.
	Warnings []string
}
