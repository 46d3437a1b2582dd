package main

import (
	"context"
	"fmt"
	"io"

	"connectrpc.com/connect"
	"github.com/spf13/pflag"

	"github.com/hallmark-dev/hallmark/attest/sbom"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/verify"
)

// writeCycloneDX writes the verified SPDX SBOM a as CycloneDX 1.6 JSON.
// It reads the document with sbom.Parse, so only an SBOM as Hallmark
// writes it converts; another tool's SPDX document is an error.
// With sbom.WithFindings (--vulnerabilities: the gateway's recorded
// findings) each finding becomes a vulnerability whose affects name the
// components of its purl.
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

// sbomVulnFlags are hallmark sbom's flags for --vulnerabilities.
type sbomVulnFlags struct {
	enabled bool
	q       queryFlags
}

func (f *sbomVulnFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&f.enabled, "vulnerabilities", false, "with --format cyclonedx: add the vulnerability findings the gateway recorded for the image")
	fl.StringVar(&f.q.gateway, "gateway", "", "gateway base URL for --vulnerabilities (default $HALLMARK_GATEWAY, else the dev stack's)")
	fl.StringVar(&f.q.tokenFile, "token-file", "", "file holding the OIDC token for the gateway, for --vulnerabilities (default $HALLMARK_TOKEN, else a dev stack token)")
}

// findings asks the gateway for the open findings of image (pinned) and
// returns those whose package the SBOM a lists (an index's findings span
// its platforms).
func (f *sbomVulnFlags) findings(ctx context.Context, image string, a verify.Attestation, env verifyEnv) ([]sbom.Finding, error) {
	doc, err := sbom.Parse(a.Statement.Predicate)
	if err != nil {
		return nil, fmt.Errorf("read verified sbom %s: %w", a.Referrer.Digest, err)
	}
	listed := map[string]bool{}
	for _, p := range doc.PURLs() {
		listed[p] = true
	}
	cl, gw, err := f.q.dial(env)
	if err != nil {
		return nil, err
	}
	var (
		out  []sbom.Finding
		info *hallmarkv1.ListFindingsResponse
	)
	_, err = eachPage(ctx, 0, func(ctx context.Context, size int32, token string) ([]*hallmarkv1.Finding, string, error) {
		resp, err := cl.ListFindings(ctx, connect.NewRequest(&hallmarkv1.ListFindingsRequest{Image: image, PageSize: size, PageToken: token}))
		if err != nil {
			return nil, "", fmt.Errorf("ask gateway %s for the findings of %s: %w", gw, image, err)
		}
		if info == nil {
			info = resp.Msg
		}
		return resp.Msg.GetFindings(), resp.Msg.GetNextPageToken(), nil
	}, func(fs []*hallmarkv1.Finding) error {
		for _, fd := range fs {
			if !listed[fd.GetPackage()] {
				continue
			}
			out = append(out, sbom.Finding{
				ID: fd.GetAdvisory(), Aliases: fd.GetAliases(), Summary: fd.GetSummary(), Package: fd.GetPackage(),
				Installed: fd.GetInstalled(), Fixed: fd.GetFixed(),
				Severity: sbom.FindingSeverity{Level: fd.GetSeverity(), Score: fd.GetScore(), Vector: fd.GetVector(), Source: fd.GetSeveritySource()},
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case info.GetAdvisories() == 0:
		return nil, fmt.Errorf("gateway %s has no vulnerability advisories loaded, so %s was not scanned", gw, image)
	case info.GetScannedAt() == nil:
		return nil, fmt.Errorf("gateway %s has not scanned its images yet: ask again shortly", gw)
	}
	return out, nil
}
