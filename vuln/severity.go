package vuln

import (
	"fmt"
	"strings"

	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/vuln/osv"
)

// Level is a qualitative severity, CVSS's scale plus "unknown".
type Level string

// The severity levels, from CVSS v3.x/v4.0's qualitative scale: a base
// score of 9.0 or more is critical, 7.0 high, 4.0 medium, above 0 low, 0
// none.
const (
	Critical Level = "critical"
	High     Level = "high"
	Medium   Level = "medium"
	Low      Level = "low"
	None     Level = "none"
	Unknown  Level = "unknown"
)

// rank orders the levels; unknown ranks lowest.
func (l Level) rank() int {
	switch l {
	case Critical:
		return 5
	case High:
		return 4
	case Medium:
		return 3
	case Low:
		return 2
	case None:
		return 1
	}
	return 0
}

// LevelOf returns the level of a CVSS base score.
func LevelOf(score float64) Level {
	switch {
	case score >= 9.0:
		return Critical
	case score >= 7.0:
		return High
	case score >= 4.0:
		return Medium
	case score > 0:
		return Low
	}
	return None
}

// Severity is how severe a finding is, and where that came from.
type Severity struct {
	// Level is the qualitative severity; Unknown when no loaded record
	// says.
	Level Level `json:"level"`
	// Score is the CVSS base score, 0 when the level comes from a rating.
	Score float64 `json:"score,omitempty"`
	// Vector is the CVSS vector scored, or the rating as written
	// ("CRITICAL", "Ubuntu:medium").
	Vector string `json:"vector,omitempty"`
	// Source is the id of the record that gave it: the finding's own, an
	// alias's (a GHSA record for a GO record without severity), or an
	// upstream record's.
	Source string `json:"source,omitempty"`
}

// fromScores scores the CVSS vectors of one list: v4.0 first, then v3.1
// or v3.0. It reports false when none scores; bad names the vectors that
// do not parse.
func fromScores(id string, sevs []osv.Severity) (s Severity, ok bool, bad []string) {
	for _, want := range []string{osv.SeverityCVSSv4, osv.SeverityCVSSv3} {
		for _, sv := range sevs {
			if sv.Type != want {
				continue
			}
			score, err := baseScore(sv.Type, sv.Score)
			if err != nil {
				bad = append(bad, fmt.Sprintf("record %s: %s %q does not score: %v", id, sv.Type, hallmark.Clip(sv.Score, 96), err))
				continue
			}
			return Severity{Level: LevelOf(score), Score: score, Vector: sv.Score, Source: id}, true, bad
		}
	}
	return Severity{}, false, bad
}

func baseScore(typ, vector string) (float64, error) {
	switch {
	case typ == osv.SeverityCVSSv4:
		c, err := gocvss40.ParseVector(vector)
		if err != nil {
			return 0, err
		}
		return c.Score(), nil
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		c, err := gocvss31.ParseVector(vector)
		if err != nil {
			return 0, err
		}
		return c.BaseScore(), nil
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		c, err := gocvss30.ParseVector(vector)
		if err != nil {
			return 0, err
		}
		return c.BaseScore(), nil
	}
	return 0, fmt.Errorf("not a CVSS v3.0 or v3.1 vector")
}

// fromRatings returns the level of a rating: Ubuntu's priority in
// severity, else database_specific.severity (GitHub's CRITICAL, HIGH,
// MODERATE, LOW).
func fromRatings(id string, sevs []osv.Severity, database string) (Severity, bool) {
	for _, sv := range sevs {
		if sv.Type == osv.SeverityUbuntu {
			if l, ok := rating(sv.Score); ok {
				return Severity{Level: l, Vector: "Ubuntu:" + sv.Score, Source: id}, true
			}
		}
	}
	if l, ok := rating(database); ok {
		return Severity{Level: l, Vector: database, Source: id}, true
	}
	return Severity{}, false
}

// rating maps the words databases rate with to levels. Ubuntu's
// "negligible" is low; "untriaged" and anything else is no rating.
func rating(s string) (Level, bool) {
	switch strings.ToLower(s) {
	case "critical":
		return Critical, true
	case "high", "important":
		return High, true
	case "moderate", "medium":
		return Medium, true
	case "low", "negligible":
		return Low, true
	case "none":
		return None, true
	}
	return "", false
}

// better reports whether a beats b as the severity to take from related
// records: a CVSS score beats a rating, a higher score or level beats a
// lower one, and a tie goes to the smaller source id, so that the choice
// does not depend on load order.
func better(a, b Severity) bool {
	if b.Level == "" {
		return true
	}
	if sa, sb := scored(a), scored(b); sa != sb {
		return sa
	}
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	if ra, rb := a.Level.rank(), b.Level.rank(); ra != rb {
		return ra > rb
	}
	return a.Source < b.Source
}

// scored reports whether s comes from a CVSS vector rather than a rating.
func scored(s Severity) bool { return strings.HasPrefix(s.Vector, "CVSS:") }
