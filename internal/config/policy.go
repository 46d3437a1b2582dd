package config

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/package-url/packageurl-go"
)

// BaseImagesConfig is the base-image policy (docs/build-policy.md).
type BaseImagesConfig struct {
	// Allow lists patterns for the repositories ("registry/path", fully
	// qualified: docker.io/library/alpine) that Dockerfiles may build on;
	// "*" matches within one path segment, a "**" segment any number of
	// segments. Empty allows every repository (a warning at start).
	Allow []string `json:"allow"`
	// Mode is "pin" (the gateway pins tags to digests) or "require-digest"
	// (Dockerfiles must pin every base by digest). Default pin. ":latest"
	// and untagged references are refused in both modes unless pinned by
	// digest.
	Mode string `json:"mode"`
	// RequireAttestation names a policy of verify.policies that every base
	// image must pass (verified before the build); empty (the default)
	// does not verify bases.
	RequireAttestation string `json:"requireAttestation"`
}

// SecretScanConfig configures the scan of built images for secrets.
type SecretScanConfig struct {
	// AllowPaths lists patterns for image paths ("/etc/ssl/private/*.key")
	// and "env:NAME" / "label:KEY" where findings are accepted (they become
	// build warnings, recorded in provenance).
	AllowPaths []string `json:"allowPaths"`
	// Disabled turns the scan off. Dangerous: images holding keys or tokens
	// get tagged and published.
	Disabled bool `json:"disabledUnsafe"`
}

// VulnerabilitiesConfig is the build policy on the advisories an image's
// SBOM matches (docs/build-policy.md#vulnerabilities).
type VulnerabilitiesConfig struct {
	// FailOn is the lowest severity that fails a build: critical, high,
	// medium, low or none. Default none (findings are attested, never
	// blocking); the dev stack sets critical.
	FailOn string `json:"failOn"`
	// OnlyFixed blocks only findings that have a fixed version.
	OnlyFixed bool `json:"onlyFixed"`
	// MaxDatabaseAge fails every build whose advisory database's newest
	// record is older, or that has no advisory data; 0 (the default) sets
	// no limit.
	MaxDatabaseAge Duration `json:"maxDatabaseAge"`
	// Exceptions accept findings.
	Exceptions []VulnException `json:"exceptions"`
	// VEX lists OpenVEX v0.2.0 files whose not_affected statements are
	// exceptions (read at start), trusted as the configuration is.
	VEX []string `json:"vex"`
	// SignedVEX lists OpenVEX documents that count only when their
	// Sigstore bundle (cosign sign-blob --bundle) verifies against
	// signing.trustedRoot for one of their signers; read at start, and the
	// gateway refuses to start on one that does not verify.
	SignedVEX []SignedVEX `json:"signedVex"`
}

// SignedVEX is an OpenVEX document, its Sigstore bundle and who may sign
// it.
type SignedVEX struct {
	// Document is the OpenVEX JSON file; Bundle its bundle.
	Document string `json:"document"`
	Bundle   string `json:"bundle"`
	// Signers are the identities whose keyless signature is accepted: the
	// OIDC issuer and the certificate's subject alternative name, both
	// exact.
	Signers []IdentityConfig `json:"signers"`
}

// VulnException accepts the findings of one advisory until it expires.
type VulnException struct {
	// Advisory is an id or alias: CVE-…, GHSA-…, GO-…, DSA-…
	Advisory string `json:"advisory"`
	// Package is a purl (without version: any version) or a package name;
	// empty accepts the advisory in every package.
	Package string `json:"package"`
	// Reason is required.
	Reason string `json:"reason"`
	// Expires is required: an RFC 3339 date ("2027-01-31") or time.
	Expires string `json:"expires"`
}

// Severities of policy.vulnerabilities.failOn.
var failOnLevels = []string{"critical", "high", "medium", "low", "none"}

// ParseExpiry reads an exception's expiry: an RFC 3339 time, or a date,
// which expires at its start (UTC).
func ParseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 date (2027-01-31) or time", s)
	}
	return t, nil
}

// advisoryRE is an advisory id as OSV writes them.
var advisoryRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9.:_-]{1,120}$`) })

func (c Config) validateVulnerabilities(v *validation) {
	p := c.Policy.Vulnerabilities
	v.oneOf("policy.vulnerabilities.failOn", p.FailOn, failOnLevels...)
	if p.MaxDatabaseAge < 0 {
		v.bad("policy.vulnerabilities.maxDatabaseAge", "must not be negative")
	}
	for i, e := range p.Exceptions {
		f := fmt.Sprintf("policy.vulnerabilities.exceptions[%d]", i)
		if !advisoryRE().MatchString(e.Advisory) {
			v.bad(f+".advisory", "%q is not an advisory id (CVE-2024-45337, GHSA-…, GO-…)", e.Advisory)
		}
		if strings.HasPrefix(e.Package, "pkg:") {
			if _, err := packageurl.FromString(e.Package); err != nil {
				v.bad(f+".package", "%q is not a package URL", e.Package)
			}
		} else if strings.ContainsAny(e.Package, " \t\r\n@") {
			v.bad(f+".package", "%q is not a purl or package name", e.Package)
		}
		if strings.TrimSpace(e.Reason) == "" {
			v.bad(f+".reason", "is required")
		}
		if e.Expires == "" {
			v.bad(f+".expires", "is required (an RFC 3339 date, 2027-01-31)")
		} else if _, err := ParseExpiry(e.Expires); err != nil {
			v.bad(f+".expires", "%v", err)
		}
	}
	for i, path := range p.VEX {
		if path == "" {
			v.bad(fmt.Sprintf("policy.vulnerabilities.vex[%d]", i), "empty path")
		}
	}
	for i, s := range p.SignedVEX {
		f := fmt.Sprintf("policy.vulnerabilities.signedVex[%d]", i)
		if s.Document == "" {
			v.bad(f+".document", "is required")
		}
		if s.Bundle == "" {
			v.bad(f+".bundle", "is required (cosign sign-blob --bundle FILE)")
		}
		if len(s.Signers) == 0 {
			v.bad(f+".signers", "is required: whose signature is trusted")
		}
		for j, id := range s.Signers {
			if id.Issuer == "" || id.SubjectAlternativeName == "" {
				v.bad(fmt.Sprintf("%s.signers[%d]", f, j), "needs issuer and subjectAlternativeName")
			}
		}
	}
	if len(p.SignedVEX) > 0 && c.Signing.TrustedRoot == "" && !c.Signing.Disabled {
		v.bad("policy.vulnerabilities.signedVex", "needs signing.trustedRoot to verify the bundles")
	}
}
