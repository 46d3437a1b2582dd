package vuln

import (
	"fmt"
	"slices"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/vuln/osv"
	"github.com/hallmark-dev/hallmark/vuln/version"
)

// entry is one affected package of one record, ready to match: its range
// events parsed and sorted once.
type entry struct {
	rec      *osv.Record
	eco      string // as the record writes it
	name     string // as the record writes it
	ranges   []evalRange
	versions []string // sorted
	severity Severity
	// unevaluated says why a range of the entry cannot be evaluated (an
	// unknown type, a version that does not parse), or is empty.
	unevaluated string
}

// evalRange is a SEMVER or ECOSYSTEM range with parsed events.
type evalRange struct {
	ord    version.Ordering
	events []event // introduced, fixed, last_affected: sorted as the spec asks
	limits []event
}

type event struct {
	kind osv.EventKind
	raw  string
	v    version.Version // nil for introduced "0" and limit "*"
}

// newEntry prepares one affected package. It returns nil when the
// ecosystem has no version ordering (the caller counts those).
func newEntry(r *osv.Record, a *osv.Affected, sev *severities) (*entry, []string) {
	ord, err := version.For(a.Ecosystem)
	if err != nil {
		return nil, nil
	}
	e := &entry{rec: r, eco: a.Ecosystem, name: a.Name, versions: slices.Sorted(slices.Values(a.Versions)), severity: sev.of(r, a)}
	var warnings []string
	for i, rg := range a.Ranges {
		o := ord
		switch rg.Type {
		case osv.RangeGit:
			continue // needs the repository's commit graph
		case osv.RangeSemVer:
			o = version.SemVer()
		case osv.RangeEcosystem:
		default:
			e.unevaluated = fmt.Sprintf("range type %q is not evaluated", hallmark.Clip(rg.Type, 32))
			continue
		}
		er, err := newRange(o, rg.Events)
		if err != nil {
			e.unevaluated = err.Error()
			warnings = append(warnings, fmt.Sprintf("record %s: %s %s: range %d not evaluated: %v", r.ID, a.Ecosystem, hallmark.Clip(a.Name, 64), i, err))
			continue
		}
		e.ranges = append(e.ranges, er)
	}
	return e, warnings
}

func newRange(ord version.Ordering, events []osv.Event) (evalRange, error) {
	r := evalRange{ord: ord}
	for _, ev := range events {
		e := event{kind: ev.Kind, raw: ev.Version}
		special := ev.Kind == osv.Introduced && ev.Version == "0" || ev.Kind == osv.Limit && ev.Version == "*"
		if !special {
			v, err := ord.Parse(ev.Version)
			if err != nil {
				return r, fmt.Errorf("%s %q does not parse as a %s version", ev.Kind, hallmark.Clip(ev.Version, 64), ord.Name())
			}
			e.v = v
		}
		if ev.Kind == osv.Limit {
			r.limits = append(r.limits, e)
		} else {
			r.events = append(r.events, e)
		}
	}
	// "0" sorts before every version; equal versions keep the record's
	// order.
	slices.SortStableFunc(r.events, func(a, b event) int {
		switch {
		case a.v == nil && b.v == nil:
			return 0
		case a.v == nil:
			return -1
		case b.v == nil:
			return 1
		}
		return a.v.Compare(b.v)
	})
	return r, nil
}

// includes evaluates the range for v as the OSV schema's IncludedInRanges
// does, and returns the fix: the first fixed version above v. Each event
// is compared with v once.
func (r *evalRange) includes(v version.Version) (bool, string) {
	if len(r.limits) > 0 {
		before := false
		for _, l := range r.limits {
			if l.v == nil || v.Compare(l.v) < 0 {
				before = true
				break
			}
		}
		if !before {
			return false, ""
		}
	}
	vulnerable, fix := false, ""
	for _, e := range r.events {
		c := 1 // v against "0"
		if e.v != nil {
			c = v.Compare(e.v)
		}
		switch e.kind {
		case osv.Introduced:
			if c >= 0 {
				vulnerable = true
			}
		case osv.Fixed:
			if c >= 0 {
				vulnerable = false
			} else if fix == "" {
				fix = e.raw
			}
		case osv.LastAffected:
			if c > 0 {
				vulnerable = false
			}
		}
	}
	if !vulnerable {
		return false, ""
	}
	return true, fix
}
