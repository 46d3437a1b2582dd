package main

import (
	"fmt"
	"io"

	"github.com/hallmark-dev/hallmark/attest/sbom"
	"github.com/hallmark-dev/hallmark/verify"
)

// writeCycloneDX writes the verified SPDX SBOM a as CycloneDX 1.6 JSON.
// It reads the document with sbom.Parse, so only an SBOM as Hallmark
// writes it converts; another tool's SPDX document is an error.
//
// Findings as CycloneDX vulnerabilities: when the CLI can scan (vuln.DB's
// Scan over the document's purls), pass the report's findings here as
// sbom.WithFindings(report.Findings); each becomes a vulnerability whose
// affects name the components of its purl.
func writeCycloneDX(w io.Writer, a verify.Attestation, opts ...sbom.CycloneDXOption) error {
	doc, err := sbom.Parse(a.Statement.Predicate)
	if err != nil {
		return fmt.Errorf("read verified sbom %s: %w", a.Referrer.Digest, err)
	}
	bom, err := doc.CycloneDX(opts...)
	if err != nil {
		return fmt.Errorf("convert verified sbom %s: %w", a.Referrer.Digest, err)
	}
	b, err := sbom.EncodeCycloneDX(bom)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write sbom: %w", err)
	}
	return nil
}
