package server

import (
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

// WithVulnSource matches every build's SBOM against v's advisories. The
// default is none: builds are not scanned.
func WithVulnSource(v VulnSource) Option {
	return func(s *Server) error { s.vulns = v; return nil }
}
