package server

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/version"
	"github.com/hallmark-dev/hallmark/vuln"
)

// noAdvisoryData is the warning of every build scanned without advisories:
// never a silent pass.
const noAdvisoryData = "no advisory data loaded: the image was not scanned for vulnerabilities"

// maxBlockingListed bounds the findings a failed build's error names.
const maxBlockingListed = 20

// scanHook returns the vulnerability scan of img, run by the attester
// once the SBOMs are written and signed with them (nil without
// WithVulnPolicy). It matches the purls of the SBOMs against the advisory
// database and applies the vulnerability policy in a step of its own,
// adds warnings to img, and returns the scan predicate to sign; when the
// policy blocks the build it returns an error wrapping
// hallmark.ErrBuildFailed, so nothing is signed.
func (s *Server) scanHook(emit func(hallmark.Event) error, img *hallmark.BuildResult, log *slog.Logger) hallmark.AlsoSign {
	p := s.vulnPolicy
	if p == nil {
		return nil
	}
	return func(ctx context.Context, described []hallmark.Attestation) ([]hallmark.Predicate, error) {
		pred, cause, err := s.scan(ctx, emit, img, described, log, p)
		if cause != nil {
			return nil, cause
		}
		if err != nil || pred == nil {
			return nil, err
		}
		return []hallmark.Predicate{{Type: vuln.PredicateType, JSON: pred}}, nil
	}
}

// scan runs the scan of scanHook. cause is the policy's refusal; pred is
// nil when there is nothing to sign (no advisory data).
func (s *Server) scan(ctx context.Context, emit func(hallmark.Event) error, img *hallmark.BuildResult, described []hallmark.Attestation, log *slog.Logger, p *vuln.Policy) (pred []byte, cause, err error) {
	db := s.vulnDB()
	if db == nil || db.Len() == 0 {
		img.Warnings = append(img.Warnings, noAdvisoryData)
		step, err := hallmark.StartStep(emit, "[hallmark] scan: "+noAdvisoryData)
		if err != nil {
			return nil, nil, err
		}
		if p.MaxDatabaseAge > 0 {
			cause = fmt.Errorf("%w: no advisory data is loaded and the build policy requires advisories newer than %s (policy.vulnerabilities.maxDatabaseAge)", hallmark.ErrBuildFailed, p.MaxDatabaseAge)
		}
		return nil, cause, step.Done(cause)
	}
	start := time.Now()
	purls := scannedPURLs(described)
	pkgs, unmapped := vulnPackages(purls)
	newest := db.NewestModified()
	name := fmt.Sprintf("[hallmark] scan: %d packages against the advisory database (%d advisories, newest %s)", len(pkgs), db.Len(), dateOrUnknown(newest))
	step, err := hallmark.StartStep(emit, name)
	if err != nil {
		return nil, nil, err
	}
	rep := db.Scan(pkgs)
	d := p.Decide(rep, start)
	finished := time.Now()
	for _, w := range d.Warnings {
		img.Warnings = append(img.Warnings, "HallmarkVulnScan: "+w)
		step.Logf("warning: %s", w)
	}
	if unmapped > 0 {
		step.Logf("%d purls are not package URLs and were not checked", unmapped)
	}
	step.Logf("%d findings (%d excepted, %d blocking), %d packages or advisories unchecked (%s)",
		len(rep.Findings), len(d.Excepted), len(d.Blocking), len(rep.Unchecked), finished.Sub(start).Round(time.Millisecond))
	for _, f := range d.Blocking {
		step.Logf("blocking: %s", describeFinding(f))
	}
	cause = blockingError(*p, d.Blocking)
	if cause == nil && p.MaxDatabaseAge > 0 {
		if newest.IsZero() || start.Sub(newest) > p.MaxDatabaseAge {
			cause = fmt.Errorf("%w: the advisory database's newest record (%s) is older than the build policy's %s (policy.vulnerabilities.maxDatabaseAge); import current advisories",
				hallmark.ErrBuildFailed, dateOrUnknown(newest), p.MaxDatabaseAge)
		}
	}
	if cause == nil {
		pred, err = vuln.Predicate(vuln.ScanInfo{
			ScannerVersion: version.Get().Version, Started: start, Finished: finished,
			Packages: len(purls), Unmapped: unmapped, Policy: *p,
		}, db, rep, d)
	}
	log.InfoContext(ctx, "image scanned", "packages", len(pkgs), "findings", len(rep.Findings), "blocking", len(d.Blocking), "excepted", len(d.Excepted),
		"ms", time.Since(start).Milliseconds())
	if err := step.Done(cmp.Or(cause, err)); err != nil {
		return nil, nil, err
	}
	return pred, cause, err
}

// attestScan signs the scan's predicate about the image on its own (the
// re-scan of a stored image; builds sign it with their SBOMs, scanHook).
func (s *Server) attestScan(ctx context.Context, img *hallmark.BuildResult, logf func(string, ...any), info vuln.ScanInfo, db *vuln.DB, rep vuln.Report, d vuln.Decision) error {
	pa, ok := s.attester.(PredicateAttester)
	if !ok {
		return nil // no attester: the pipeline attests nothing
	}
	pred, err := vuln.Predicate(info, db, rep, d)
	if err != nil {
		return err
	}
	atts, err := pa.AttestPredicate(ctx, *img, vuln.PredicateType, pred, logf)
	if err != nil {
		return fmt.Errorf("attest vulnerability scan of %s: %w", img.Pinned, err)
	}
	img.Attestations = append(img.Attestations, atts...)
	return nil
}

// vulnPackages reads purls as packages to scan; unmapped counts those
// that are not package URLs.
func vulnPackages(purls []string) (pkgs []vuln.Package, unmapped int) {
	pkgs = make([]vuln.Package, 0, len(purls))
	for _, u := range purls {
		p, err := vuln.PackageFromPURL(u)
		if err != nil {
			unmapped++
			continue
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, unmapped
}

// scannedPURLs are the distinct purls of the SPDX attestations, in order.
func scannedPURLs(atts []hallmark.Attestation) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range atts {
		if a.PredicateType != hallmark.PredicateSPDX {
			continue
		}
		for _, p := range a.Packages {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// blockingError names the findings that block a build, or is nil.
func blockingError(p vuln.Policy, blocking []vuln.Finding) error {
	if len(blocking) == 0 {
		return nil
	}
	var b strings.Builder
	for i, f := range blocking {
		if i == maxBlockingListed {
			fmt.Fprintf(&b, "; and %d more", len(blocking)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(describeFinding(f))
	}
	only := ""
	if p.OnlyFixed {
		only = ", onlyFixed"
	}
	return fmt.Errorf("%w: the build policy (policy.vulnerabilities failOn: %s%s) blocks the image's findings (%d): %s; update the packages, or ask the gateway's operator for an exception (advisory, reason, expiry)",
		hallmark.ErrBuildFailed, p.FailOn, only, len(blocking), b.String())
}

// describeFinding is one finding in a line: id, aliases, package,
// installed → fixed, severity.
func describeFinding(f vuln.Finding) string {
	var b strings.Builder
	b.WriteString(f.ID)
	if len(f.Aliases) > 0 {
		fmt.Fprintf(&b, " (%s)", hallmark.Clip(strings.Join(f.Aliases, ", "), 200))
	}
	fmt.Fprintf(&b, " in %s: %s", hallmark.Clip(f.Package, 200), f.Installed)
	if len(f.Fixed) > 0 {
		fmt.Fprintf(&b, " → %s", hallmark.Clip(strings.Join(f.Fixed, ", "), 200))
	} else {
		b.WriteString(", no fix")
	}
	fmt.Fprintf(&b, ", %s", f.Severity.Level)
	if f.Severity.Score > 0 {
		fmt.Fprintf(&b, " %.1f", f.Severity.Score)
	}
	return b.String()
}

func dateOrUnknown(t time.Time) string {
	if t.IsZero() {
		return "undated"
	}
	return t.UTC().Format(time.RFC3339)
}
