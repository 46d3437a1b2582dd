package sbom

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// Finding is a vulnerability finding about one of the document's packages,
// as a scanner reports it (the vuln package's Finding has the same fields:
// attest and vuln do not import each other, so the caller converts).
type Finding struct {
	// ID is the advisory's id; Aliases its other ids; Summary its title.
	ID      string
	Aliases []string
	Summary string
	// Package is the purl of the package, as the document lists it;
	// Installed its version and Fixed the versions that fix it.
	Package   string
	Installed string
	Fixed     []string
	// Severity is the finding's rating.
	Severity FindingSeverity
	// Modified is when the advisory last changed.
	Modified time.Time
}

// FindingSeverity is a finding's rating: Level is critical, high, medium,
// low, none or unknown; Vector a CVSS vector or a distribution's rating
// ("Ubuntu:medium"); Source the advisory that gave it.
type FindingSeverity struct {
	Level  string
	Score  float64
	Vector string
	Source string
}

// osvURL is where an OSV advisory is published.
const osvURL = "https://osv.dev/vulnerability/"

// vulnerabilities are findings as CycloneDX vulnerabilities: one per
// advisory id, in id order, affecting every component with a purl of its
// findings (the installed version affected, each fixed version not).
func (d *Document) vulnerabilities(findings []Finding) ([]cdx.Vulnerability, error) {
	refs := map[string][]string{} // purl → bom-refs
	for _, p := range d.packages {
		refs[p.PURL] = append(refs[p.PURL], p.SPDXID)
	}
	byID := map[string]*cdx.Vulnerability{}
	var ids []string
	for _, f := range findings {
		targets := refs[f.Package]
		if len(targets) == 0 {
			return nil, fmt.Errorf("finding %s: package %s is not in the sbom", f.ID, f.Package)
		}
		v, ok := byID[f.ID]
		if !ok {
			v = newVulnerability(f)
			byID[f.ID] = v
			ids = append(ids, f.ID)
		}
		versions := []cdx.AffectedVersions{{Version: f.Installed, Status: cdx.VulnerabilityStatusAffected}}
		for _, fixed := range f.Fixed {
			versions = append(versions, cdx.AffectedVersions{Version: fixed, Status: cdx.VulnerabilityStatusNotAffected})
		}
		for _, ref := range targets {
			if !slices.ContainsFunc(*v.Affects, func(a cdx.Affects) bool { return a.Ref == ref }) {
				*v.Affects = append(*v.Affects, cdx.Affects{Ref: ref, Range: &versions})
			}
		}
	}
	slices.Sort(ids)
	out := make([]cdx.Vulnerability, 0, len(ids))
	for _, id := range ids {
		v := byID[id]
		slices.SortFunc(*v.Affects, func(a, b cdx.Affects) int { return cmp.Compare(a.Ref, b.Ref) })
		out = append(out, *v)
	}
	return out, nil
}

// newVulnerability is f's advisory, affecting nothing yet.
func newVulnerability(f Finding) *cdx.Vulnerability {
	v := &cdx.Vulnerability{
		BOMRef:      "vuln-" + f.ID,
		ID:          f.ID,
		Source:      &cdx.Source{Name: "OSV", URL: osvURL + f.ID},
		Description: f.Summary,
		Affects:     &[]cdx.Affects{},
	}
	if len(f.Aliases) > 0 {
		var rs []cdx.VulnerabilityReference
		for _, a := range slices.Sorted(slices.Values(f.Aliases)) {
			rs = append(rs, cdx.VulnerabilityReference{ID: a, Source: &cdx.Source{Name: "OSV", URL: osvURL + a}})
		}
		v.References = &rs
	}
	if s := f.Severity; s.Level != "" {
		r := cdx.VulnerabilityRating{Severity: cdx.Severity(s.Level), Method: scoringMethod(s.Vector), Vector: s.Vector}
		if s.Score > 0 {
			r.Score = &s.Score
		}
		if r.Method == cdx.ScoringMethodOther {
			r.Vector = "" // a rating as written ("Ubuntu:medium") is no vector
		}
		if s.Source != "" { // the record that gave the severity: the finding's, an alias's, an upstream one's
			r.Source = &cdx.Source{Name: "OSV", URL: osvURL + s.Source}
		}
		v.Ratings = &[]cdx.VulnerabilityRating{r}
	}
	if len(f.Fixed) > 0 {
		v.Recommendation = "Upgrade to " + strings.Join(f.Fixed, " or ") + "."
	}
	if !f.Modified.IsZero() {
		v.Updated = f.Modified.UTC().Format(time.RFC3339)
	}
	return v
}

// scoringMethod is the CycloneDX method of a CVSS vector, else other (a
// distribution's rating).
func scoringMethod(vector string) cdx.ScoringMethod {
	switch {
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		return cdx.ScoringMethodCVSSv4
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		return cdx.ScoringMethodCVSSv31
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		return cdx.ScoringMethodCVSSv3
	case strings.HasPrefix(vector, "AV:"):
		return cdx.ScoringMethodCVSSv2
	}
	return cdx.ScoringMethodOther
}
