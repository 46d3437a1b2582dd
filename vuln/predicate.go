package vuln

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// PredicateType is the in-toto vulnerability scan predicate (the
// attestation framework's vulns v0.1) that Predicate writes.
const PredicateType = hallmark.PredicateVulns

// ScanInfo describes one scan for its predicate.
type ScanInfo struct {
	// ScannerVersion is the gateway's version.
	ScannerVersion string
	// Started and Finished bound the scan.
	Started, Finished time.Time
	// Packages is how many purls the SBOMs listed; Unmapped how many of
	// them do not parse as package URLs.
	Packages, Unmapped int
	// Policy is the policy the decision applied.
	Policy Policy
}

// The predicate's JSON. scanner, db and result follow in-toto's vulns
// predicate; the other fields are Hallmark's.
type (
	predicateJSON struct {
		Scanner  scannerJSON  `json:"scanner"`
		Metadata metadataJSON `json:"metadata"`
		Policy   policyJSON   `json:"policy"`
		Summary  summaryJSON  `json:"summary"`
		// Unchecked lists the first maxUncheckedListed packages and
		// advisories that could not be checked (Report.Unchecked).
		Unchecked []Unchecked `json:"unchecked,omitempty"`
	}
	scannerJSON struct {
		URI     string       `json:"uri"`
		Version string       `json:"version"`
		DB      dbJSON       `json:"db"`
		Result  []resultJSON `json:"result"`
	}
	dbJSON struct {
		URI        string       `json:"uri"`
		Version    string       `json:"version"`
		LastUpdate *time.Time   `json:"lastUpdate,omitempty"`
		Records    int          `json:"records"`
		Imports    []importJSON `json:"imports"`
		// AgeSeconds is the scan's start minus LastUpdate; absent when
		// the database has no dated record.
		AgeSeconds *int64 `json:"ageSeconds,omitempty"`
	}
	importJSON struct {
		Source  string `json:"source"`
		SHA256  string `json:"sha256"`
		Records int    `json:"records"`
	}
	resultJSON struct {
		ID        string         `json:"id"`
		Aliases   []string       `json:"aliases,omitempty"`
		Severity  []severityJSON `json:"severity"`
		Package   string         `json:"package"`
		Installed string         `json:"installed"`
		Fixed     []string       `json:"fixed,omitempty"`
		Blocking  bool           `json:"blocking,omitempty"`
		Excepted  *exceptedJSON  `json:"excepted,omitempty"`
	}
	severityJSON struct {
		Method string `json:"method"`
		Score  string `json:"score"`
		Level  Level  `json:"level"`
		Vector string `json:"vector,omitempty"`
		Source string `json:"source,omitempty"`
	}
	exceptedJSON struct {
		Reason  string     `json:"reason"`
		Expires *time.Time `json:"expires,omitempty"`
		By      string     `json:"by"`
		Source  string     `json:"source,omitempty"`
	}
	metadataJSON struct {
		ScanStartedOn  time.Time `json:"scanStartedOn"`
		ScanFinishedOn time.Time `json:"scanFinishedOn"`
	}
	policyJSON struct {
		FailOn         Level  `json:"failOn"`
		OnlyFixed      bool   `json:"onlyFixed,omitempty"`
		MaxDatabaseAge string `json:"maxDatabaseAge,omitempty"`
	}
	summaryJSON struct {
		Packages  int `json:"packages"`
		Unmapped  int `json:"unmapped,omitempty"`
		Unchecked int `json:"unchecked,omitempty"`
		Critical  int `json:"critical"`
		High      int `json:"high"`
		Medium    int `json:"medium"`
		Low       int `json:"low"`
		Unknown   int `json:"unknown"`
		Excepted  int `json:"excepted"`
		Blocking  int `json:"blocking"`
	}
)

// Predicate writes the vulnerability scan predicate of a report and its
// decision, made against db (nil for none). Every finding is listed, the
// excepted ones with their exception; the summary counts findings that
// are not excepted by level.
func Predicate(info ScanInfo, db *DB, rep Report, d Decision) ([]byte, error) {
	p := predicateJSON{
		Scanner:  scannerJSON{URI: "https://hallmark.dev/vuln", Version: info.ScannerVersion, DB: dbOf(db, info.Started), Result: []resultJSON{}},
		Metadata: metadataJSON{ScanStartedOn: info.Started.UTC(), ScanFinishedOn: info.Finished.UTC()},
		Policy:   policyJSON{FailOn: info.Policy.FailOn, OnlyFixed: info.Policy.OnlyFixed},
		Summary:  summaryJSON{Packages: info.Packages, Unmapped: info.Unmapped, Unchecked: len(rep.Unchecked), Blocking: len(d.Blocking), Excepted: len(d.Excepted)},
	}
	if p.Policy.FailOn == "" {
		p.Policy.FailOn = None
	}
	if info.Policy.MaxDatabaseAge > 0 {
		p.Policy.MaxDatabaseAge = info.Policy.MaxDatabaseAge.String()
	}
	excepted := map[findingKey]Exception{}
	for _, e := range d.Excepted {
		excepted[keyOf(e.Finding)] = e.Exception
	}
	blocking := map[findingKey]bool{}
	for _, f := range d.Blocking {
		blocking[keyOf(f)] = true
	}
	for _, f := range rep.Findings {
		r := resultJSON{ID: f.ID, Aliases: f.Aliases, Package: f.Package, Installed: f.Installed, Fixed: f.Fixed, Severity: []severityJSON{severityOf(f.Severity)}, Blocking: blocking[keyOf(f)]}
		if e, ok := excepted[keyOf(f)]; ok {
			x := &exceptedJSON{Reason: e.Reason, By: e.By, Source: e.Source}
			if !e.Expires.IsZero() {
				t := e.Expires.UTC()
				x.Expires = &t
			}
			r.Excepted = x
		} else {
			switch f.Severity.Level {
			case Critical:
				p.Summary.Critical++
			case High:
				p.Summary.High++
			case Medium:
				p.Summary.Medium++
			case Low:
				p.Summary.Low++
			case Unknown:
				p.Summary.Unknown++
			}
		}
		p.Scanner.Result = append(p.Scanner.Result, r)
	}
	p.Unchecked = rep.Unchecked[:min(len(rep.Unchecked), maxUncheckedListed)]
	out, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode vulnerability predicate: %w", err)
	}
	return out, nil
}

// maxUncheckedListed bounds the unchecked packages a predicate lists; the
// summary counts them all.
const maxUncheckedListed = 100

type findingKey struct{ id, pkg string }

func keyOf(f Finding) findingKey { return findingKey{f.ID, f.Package} }

// severityOf is a finding's severity as in-toto's method and score.
func severityOf(s Severity) severityJSON {
	j := severityJSON{Level: s.Level, Vector: s.Vector, Source: s.Source, Method: "rating", Score: string(s.Level)}
	if scored(s) {
		j.Method, j.Score = "CVSS", strconv.FormatFloat(s.Score, 'f', 1, 64)
	}
	return j
}

// dbOf describes the database: its imports and their newest record.
func dbOf(db *DB, at time.Time) dbJSON {
	j := dbJSON{URI: "https://osv.dev", Imports: []importJSON{}}
	if db == nil {
		return j
	}
	j.Records = db.Len()
	for _, im := range db.Imports() {
		j.Imports = append(j.Imports, importJSON{Source: im.Source, SHA256: im.SHA256, Records: im.Records})
		if len(j.Version) < 64 && im.SHA256 != "" {
			j.Version = im.SHA256 // the first import's; every import is listed
		}
	}
	if t := db.NewestModified(); !t.IsZero() {
		t = t.UTC()
		j.LastUpdate = &t
		age := int64(at.Sub(t) / time.Second)
		j.AgeSeconds = &age
	}
	return j
}
