package vuln

import (
	"fmt"
	"slices"
	"strings"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/vuln/version"
)

// Finding is one advisory that affects one package.
type Finding struct {
	// ID is the advisory's id; Aliases its aliases; Summary its summary.
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Summary string   `json:"summary,omitempty"`
	// Package is the affected package's purl.
	Package string `json:"package"`
	// Ecosystem and Name are the advisory's for the package ("Debian:12"
	// "glibc": a Debian package is matched by its source package).
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	// Installed is the version compared: the source package's for a
	// distribution package built from a source of another version.
	Installed string `json:"installed"`
	// Fixed are the versions that fix it, one per matching range: the
	// first fixed version above Installed. Empty when there is no fix.
	Fixed []string `json:"fixed,omitempty"`
	// Severity is how severe it is, and which record said so.
	Severity Severity `json:"severity"`
	// Modified is when the advisory last changed.
	Modified time.Time `json:"modified,omitzero"`
}

// Unchecked is a package, or one advisory for a package, that could not
// be checked: no advisories loaded for its ecosystem, no version, a
// version its ecosystem does not parse, a range that cannot be evaluated.
// A package listed here has not been found clean.
type Unchecked struct {
	// Package is the package's purl.
	Package string `json:"package"`
	// Advisory is the advisory that could not be evaluated, or empty when
	// the whole package could not be checked.
	Advisory string `json:"advisory,omitempty"`
	// Reason says why.
	Reason string `json:"reason"`
}

// Report is the result of a scan.
type Report struct {
	// Findings are the advisories that affect the packages, in the order
	// of the packages and then by advisory id.
	Findings []Finding `json:"findings"`
	// Unchecked are the packages and advisories that could not be checked.
	Unchecked []Unchecked `json:"unchecked,omitempty"`
}

// Match returns the advisories that affect the packages (Scan's findings).
func (db *DB) Match(pkgs []Package) []Finding { return db.Scan(pkgs).Findings }

// Scan matches the packages against the loaded advisories as the OSV
// schema's evaluation says: a package version is affected when an
// affected entry for its ecosystem and name lists it, or one of the
// entry's SEMVER or ECOSYSTEM ranges includes it in the ecosystem's
// ordering. Withdrawn records are never matched. Packages that share a
// source package and version (a Debian image's binary packages) are
// evaluated once.
func (db *DB) Scan(pkgs []Package) Report {
	var rep Report
	done := map[doneKey]*outcome{}
	for _, p := range pkgs {
		t := targetOf(p)
		if t.reason != "" {
			rep.Unchecked = append(rep.Unchecked, Unchecked{Package: p.PURL, Reason: t.reason})
			continue
		}
		if !slices.ContainsFunc(t.ecosystems, func(e string) bool { return db.ecosystems[e] }) {
			rep.Unchecked = append(rep.Unchecked, Unchecked{Package: p.PURL, Reason: "no advisories loaded for " + t.ecosystems[0]})
			continue
		}
		k := doneKey{t.ecosystems[0], t.name, t.version}
		o, ok := done[k]
		if !ok {
			o = db.evaluate(t)
			done[k] = o
		}
		for _, m := range o.matches {
			f := Finding{
				ID: m.e.rec.ID, Aliases: m.aliases, Summary: m.e.rec.Summary, Package: p.PURL,
				Ecosystem: m.e.eco, Name: m.e.name, Installed: t.version, Fixed: m.fixed,
				Severity: m.severity, Modified: m.e.rec.Modified,
			}
			rep.Findings = append(rep.Findings, f)
		}
		for _, u := range o.unchecked {
			u.Package = p.PURL
			rep.Unchecked = append(rep.Unchecked, u)
		}
	}
	return rep
}

// doneKey names one package version evaluated.
type doneKey struct{ ecosystem, name, version string }

// outcome is what one package version's evaluation found.
type outcome struct {
	matches   []match
	unchecked []Unchecked
}

type match struct {
	e        *entry
	fixed    []string
	aliases  []string
	severity Severity
}

// evaluate matches one package version against every entry for it.
func (db *DB) evaluate(t target) *outcome {
	o := &outcome{}
	parsed := map[version.Ordering]parse{}
	parse1 := func(ord version.Ordering) parse {
		p, ok := parsed[ord]
		if !ok {
			p.v, p.err = ord.Parse(t.version)
			parsed[ord] = p
		}
		return p
	}
	byID := map[string]int{} // record id → index in o.matches
	var unparsed string      // the version does not parse: said once
	for _, eco := range t.ecosystems {
		for _, e := range db.index[key{eco, t.name}] {
			affected, fixed, why, badVersion := e.match(t.version, parse1)
			switch {
			case affected:
				if i, ok := byID[e.rec.ID]; ok {
					o.matches[i].fixed = union(o.matches[i].fixed, fixed)
					continue
				}
				byID[e.rec.ID] = len(o.matches)
				o.matches = append(o.matches, match{e: e, fixed: fixed, aliases: e.rec.Aliases, severity: e.severity})
			case badVersion:
				unparsed = why
			case why != "":
				o.unchecked = append(o.unchecked, Unchecked{Advisory: e.rec.ID, Reason: why})
			}
		}
	}
	if unparsed != "" {
		o.unchecked = append([]Unchecked{{Reason: unparsed}}, o.unchecked...)
	}
	o.matches = mergeAliases(o.matches)
	slices.SortStableFunc(o.matches, func(a, b match) int { return strings.Compare(a.e.rec.ID, b.e.rec.ID) })
	seen := map[Unchecked]bool{}
	o.unchecked = slices.DeleteFunc(o.unchecked, func(u Unchecked) bool {
		dup := seen[u]
		seen[u] = true
		return dup
	})
	return o
}

type parse struct {
	v   version.Version
	err error
}

// match evaluates one entry: listed versions first (the schema compares
// them as strings), then the ranges. why says, when the version is not
// found affected, what could not be evaluated; badVersion that it is the
// installed version.
func (e *entry) match(installed string, parse1 func(version.Ordering) parse) (affected bool, fixed []string, why string, badVersion bool) {
	_, affected = slices.BinarySearch(e.versions, installed)
	for i := range e.ranges {
		r := &e.ranges[i]
		p := parse1(r.ord)
		if p.err != nil {
			why, badVersion = fmt.Sprintf("version %q does not parse as a %s version", hallmark.Clip(installed, 64), r.ord.Name()), true
			continue
		}
		if in, fix := r.includes(p.v); in {
			affected = true
			if fix != "" {
				fixed = union(fixed, []string{fix})
			}
		}
	}
	if !affected && why == "" {
		why = e.unevaluated
	}
	return affected, fixed, why, badVersion && !affected
}

// union appends the strings of b that a lacks.
func union(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}
