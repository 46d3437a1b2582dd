package vuln

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/package-url/packageurl-go"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Exception sources: who accepted a finding.
const (
	ByPolicy = "policy" // the build policy's exceptions
	ByVEX    = "vex"    // an OpenVEX not_affected statement
)

// Policy decides which findings of a scan block a build.
type Policy struct {
	// FailOn is the lowest level that blocks: a finding at FailOn or above
	// blocks unless excepted. None (or empty) never blocks.
	FailOn Level
	// OnlyFixed blocks only findings that have a fixed version.
	OnlyFixed bool
	// MaxDatabaseAge, when positive, fails every build whose database is
	// older (or empty, or of unknown age).
	MaxDatabaseAge time.Duration
	// Exceptions accept findings.
	Exceptions []Exception
}

// Exception accepts the findings of one advisory, in one package or all.
type Exception struct {
	// Advisory is matched against a finding's id and its aliases.
	Advisory string `json:"advisory"`
	// Package is a purl (without a version: any version; qualifiers are
	// ignored) or a package name; empty matches every package.
	Package string `json:"package,omitempty"`
	// Reason says why the finding is accepted.
	Reason string `json:"reason"`
	// Expires ends the exception; zero never (VEX statements).
	Expires time.Time `json:"expires,omitzero"`
	// By is ByPolicy or ByVEX; Source names the VEX document.
	By     string `json:"by"`
	Source string `json:"source,omitempty"`
}

// Excepted is a finding an exception accepted.
type Excepted struct {
	Finding
	Exception Exception
}

// Decision is what a Policy made of a scan.
type Decision struct {
	// Blocking are the findings that fail the build.
	Blocking []Finding
	// Excepted are the findings exceptions accepted (whatever their level).
	Excepted []Excepted
	// Warnings name expired exceptions that were ignored.
	Warnings []string
}

// Blocks reports whether the finding is at or above FailOn and, under
// OnlyFixed, has a fix.
func (p Policy) Blocks(f Finding) bool {
	if p.FailOn == "" || p.FailOn == None {
		return false
	}
	if p.OnlyFixed && len(f.Fixed) == 0 {
		return false
	}
	return f.Severity.Level.rank() >= p.FailOn.rank()
}

// Decide applies the policy to a report at time now: every finding is
// either excepted (by the first unexpired exception that matches it),
// blocking, or neither. An expired exception that would have matched is
// ignored with a warning.
func (p Policy) Decide(rep Report, now time.Time) Decision {
	var d Decision
	warned := map[int]bool{}
	for _, f := range rep.Findings {
		excepted := false
		for i, e := range p.Exceptions {
			if !e.Matches(f) {
				continue
			}
			if !e.Expires.IsZero() && !now.Before(e.Expires) {
				if !warned[i] {
					warned[i] = true
					d.Warnings = append(d.Warnings, fmt.Sprintf("the exception for %s (%s) expired on %s and is ignored", e.Advisory, hallmark.Clip(e.Reason, 80), e.Expires.Format(time.DateOnly)))
				}
				continue
			}
			d.Excepted = append(d.Excepted, Excepted{Finding: f, Exception: e})
			excepted = true
			break
		}
		if !excepted && p.Blocks(f) {
			d.Blocking = append(d.Blocking, f)
		}
	}
	return d
}

// Matches reports whether the exception names the finding's advisory (its
// id or an alias) and, if it names a package, the finding's package.
func (e Exception) Matches(f Finding) bool {
	if !strings.EqualFold(e.Advisory, f.ID) && !slices.ContainsFunc(f.Aliases, func(a string) bool { return strings.EqualFold(e.Advisory, a) }) {
		return false
	}
	return e.Package == "" || packageMatches(e.Package, f)
}

// packageMatches compares a purl or a name with a finding's package.
func packageMatches(want string, f Finding) bool {
	if !strings.HasPrefix(want, "pkg:") {
		return want == f.Name || purlName(f.Package) == want
	}
	w, err := packageurl.FromString(want)
	if err != nil {
		return false
	}
	got, err := packageurl.FromString(f.Package)
	if err != nil {
		return false
	}
	if w.Type != got.Type || !strings.EqualFold(w.Namespace, got.Namespace) || !strings.EqualFold(w.Name, got.Name) {
		return false
	}
	return w.Version == "" || w.Version == got.Version
}

// purlName is a purl's namespace/name ("golang.org/x/crypto"), or "".
func purlName(purl string) string {
	u, err := packageurl.FromString(purl)
	if err != nil {
		return ""
	}
	if u.Namespace == "" {
		return u.Name
	}
	return u.Namespace + "/" + u.Name
}

// ParseLevel reads a FailOn level: critical, high, medium, low or none.
func ParseLevel(s string) (Level, error) {
	switch l := Level(strings.ToLower(s)); l {
	case Critical, High, Medium, Low, None:
		return l, nil
	}
	return "", fmt.Errorf("%w: severity %q is not critical, high, medium, low or none", hallmark.ErrInvalid, hallmark.Clip(s, 32))
}
