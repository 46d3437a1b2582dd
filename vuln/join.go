package vuln

import (
	"maps"
	"slices"

	"github.com/hallmark-dev/hallmark/vuln/osv"
)

// severities resolves the severity of every standing record: its own, and
// for a record without one, the best of the records that share an
// identifier with it (its id or an alias), else the best of its upstream
// records. The Go vulnerability database scores nothing; GitHub's record
// for the same CVE does.
type severities struct {
	own    map[string]Severity // record id → its own top-level severity
	joined map[string]Severity // record id → one from a related record
}

// severities scores every standing record once and joins them across
// aliases; the warnings name vectors that do not score.
func (db *DB) severities() *severities {
	s := &severities{own: map[string]Severity{}, joined: map[string]Severity{}}
	byIdent := map[string][]string{} // id or alias → records that carry it
	for _, id := range slices.Sorted(maps.Keys(db.records)) {
		r := db.records[id]
		if r.IsWithdrawn() {
			continue
		}
		sv, ok, bad := fromScores(r.ID, r.Severity)
		for _, b := range bad {
			db.warn(b)
		}
		if !ok {
			sv, ok = fromRatings(r.ID, r.Severity, r.DatabaseSeverity)
		}
		if ok {
			s.own[r.ID] = sv
		}
		for _, ident := range append([]string{r.ID}, r.Aliases...) {
			byIdent[ident] = append(byIdent[ident], r.ID)
		}
	}
	best := func(self string, idents []string) (Severity, bool) {
		var b Severity
		for _, ident := range idents {
			for _, other := range byIdent[ident] {
				if sv, ok := s.own[other]; ok && other != self && better(sv, b) {
					b = sv
				}
			}
		}
		return b, b.Level != ""
	}
	for id, r := range db.records {
		if _, ok := s.own[id]; ok || r.IsWithdrawn() {
			continue
		}
		if sv, ok := best(id, append([]string{id}, r.Aliases...)); ok {
			s.joined[id] = sv
		} else if sv, ok := best(id, r.Upstream); ok {
			s.joined[id] = sv
		}
	}
	return s
}

// of returns the severity of one affected package of a record: scores
// for that package, then the record's own, then the joined one; Unknown
// when none says.
func (s *severities) of(r *osv.Record, a *osv.Affected) Severity {
	if sv, ok, _ := fromScores(r.ID, a.Severity); ok {
		return sv
	}
	if sv, ok := fromRatings(r.ID, a.Severity, ""); ok {
		return sv
	}
	if sv, ok := s.own[r.ID]; ok {
		return sv
	}
	if sv, ok := s.joined[r.ID]; ok {
		return sv
	}
	return Severity{Level: Unknown}
}
