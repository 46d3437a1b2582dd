package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/attest"
	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/server"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/vuln"
)

// The gateway's attester signs the scan: server.New refuses a vulnerability
// policy with an attester that cannot.
var _ server.PredicateAttester = (*attest.Attester)(nil)

// vulnPolicy is the build policy of policy.vulnerabilities, with its
// OpenVEX documents read; it warns about a policy that never fails a
// build and about VEX statements it skips.
//
// Signed documents (signedVex) count only when their bundle verifies
// against the trusted material trusted returns (signing.trustedRoot) for
// one of their signers.
func vulnPolicy(ctx context.Context, c config.VulnerabilitiesConfig, trusted func() (root.TrustedMaterial, error), log *slog.Logger) (vuln.Policy, error) {
	level, err := vuln.ParseLevel(c.FailOn)
	if err != nil {
		return vuln.Policy{}, fmt.Errorf("policy.vulnerabilities.failOn: %w", err)
	}
	p := vuln.Policy{FailOn: level, OnlyFixed: c.OnlyFixed, MaxDatabaseAge: time.Duration(c.MaxDatabaseAge)}
	if level == vuln.None {
		log.Warn("policy.vulnerabilities.failOn is none: vulnerable images are attested, never refused")
	}
	for i, e := range c.Exceptions {
		expires, err := config.ParseExpiry(e.Expires)
		if err != nil {
			return vuln.Policy{}, fmt.Errorf("policy.vulnerabilities.exceptions[%d].expires: %w", i, err)
		}
		if !time.Now().Before(expires) {
			log.Warn("a vulnerability exception has expired and is ignored", "advisory", e.Advisory, "expires", e.Expires)
		}
		p.Exceptions = append(p.Exceptions, vuln.Exception{Advisory: e.Advisory, Package: e.Package, Reason: e.Reason, Expires: expires, By: vuln.ByPolicy})
	}
	for i, path := range c.VEX {
		data, err := readBounded(path, vuln.MaxVEXBytes)
		if err != nil {
			return vuln.Policy{}, fmt.Errorf("policy.vulnerabilities.vex[%d]: %w", i, err)
		}
		ex, warnings, err := vuln.ParseOpenVEX(path, data)
		if err != nil {
			return vuln.Policy{}, fmt.Errorf("policy.vulnerabilities.vex[%d]: %w", i, err)
		}
		for _, w := range warnings {
			log.Warn(w)
		}
		p.Exceptions = append(p.Exceptions, ex...)
		log.Info("VEX document read", "path", path, "exceptions", len(ex))
	}
	for i, sv := range c.SignedVEX {
		ex, err := signedVEX(ctx, sv, trusted, log)
		if err != nil {
			return vuln.Policy{}, fmt.Errorf("policy.vulnerabilities.signedVex[%d]: %w", i, err)
		}
		p.Exceptions = append(p.Exceptions, ex...)
	}
	return p, nil
}

// signedVEX verifies one signed OpenVEX document and reads its
// exceptions, whose source names the document and its signer.
func signedVEX(ctx context.Context, sv config.SignedVEX, trusted func() (root.TrustedMaterial, error), log *slog.Logger) ([]vuln.Exception, error) {
	doc, err := readBounded(sv.Document, vuln.MaxVEXBytes)
	if err != nil {
		return nil, err
	}
	bundle, err := readBounded(sv.Bundle, maxVEXBundleBytes)
	if err != nil {
		return nil, err
	}
	tm, err := trusted()
	if err != nil {
		return nil, fmt.Errorf("trusted root for the VEX bundle: %w", err)
	}
	var ids []verify.Identity
	for _, id := range sv.Signers {
		ids = append(ids, verify.Identity{Issuer: id.Issuer, SubjectAlternativeName: id.SubjectAlternativeName})
	}
	res, err := verify.VerifyBundle(ctx, tm, bundle, verify.ArtifactBytes(doc), verify.WithIdentities(ids...))
	if err != nil {
		return nil, fmt.Errorf("bundle %s does not verify %s: %w", sv.Bundle, sv.Document, err)
	}
	if res.PredicateType != "" {
		return nil, fmt.Errorf("bundle %s is an attestation (%s), not a signature of %s: sign the document with cosign sign-blob --bundle", sv.Bundle, res.PredicateType, sv.Document)
	}
	source := sv.Document + " (signed by " + res.SignerIdentity + ")"
	ex, warnings, err := vuln.ParseOpenVEX(source, doc)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	log.Info("signed VEX document verified", "path", sv.Document, "signer", res.SignerIdentity, "issuer", res.SignerIssuer,
		"log_index", res.LogIndex, "exceptions", len(ex))
	return ex, nil
}

// maxVEXBundleBytes bounds a VEX document's bundle.
const maxVEXBundleBytes = 1 << 20

// readBounded reads a file of at most limit bytes (one more is an error).
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}
