package server

import (
	"context"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/vuln"
)

// VulnSource gives the advisory database the gateway matches SBOMs
// against. It changes when advisories are imported: callers take DB() once
// per scan and never see half an import.
type VulnSource interface {
	// DB returns the current database; nil when no advisories are
	// loaded.
	DB() *vuln.DB
}

// vulnDB is the advisory database now; nil without advisories.
func (s *Server) vulnDB() *vuln.DB {
	if s.vulns == nil {
		return nil
	}
	return s.vulns.DB()
}

// PredicateAttester signs one more statement about a built image and
// publishes it as the image's referrer: the vulnerability scan. The
// attester given to WithAttester must implement it when WithVulnPolicy
// is set.
type PredicateAttester interface {
	AttestPredicate(ctx context.Context, res hallmark.BuildResult, predicateType string, predicate []byte, logf func(format string, args ...any)) ([]hallmark.Attestation, error)
}

// WithVulnSource matches every build's SBOM against v's advisories. The
// default is none: without a source, a build under WithVulnPolicy gets a
// warning that it was not scanned.
func WithVulnSource(v VulnSource) Option {
	return func(s *Server) error { s.vulns = v; return nil }
}

// WithVulnPolicy scans every attested build's SBOM (after attesting,
// before any tag moves) against the advisories of WithVulnSource, fails
// the builds p blocks, and attests the scan of the others. The default is
// no scan.
func WithVulnPolicy(p vuln.Policy) Option {
	return func(s *Server) error { s.vulnPolicy = &p; return nil }
}
