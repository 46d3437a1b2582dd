package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/sign/signtest"
	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/vuln"
)

func TestVulnPolicy(t *testing.T) {
	vex := filepath.Join(t.TempDir(), "app.vex.json")
	if err := os.WriteFile(vex, []byte(`{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","statements":[
	  {"vulnerability":{"name":"CVE-2024-45337"},"products":[{"@id":"pkg:golang/golang.org/x/crypto"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := vulnPolicy(t.Context(), config.VulnerabilitiesConfig{
		FailOn: "critical", OnlyFixed: true, MaxDatabaseAge: config.Duration(24 * time.Hour),
		Exceptions: []config.VulnException{{Advisory: "GHSA-v778-237x-gjrc", Reason: "no ssh", Expires: "2027-01-31"}},
		VEX:        []string{vex},
	}, noTrust, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if p.FailOn != vuln.Critical || !p.OnlyFixed || p.MaxDatabaseAge != 24*time.Hour || len(p.Exceptions) != 2 ||
		p.Exceptions[0].By != vuln.ByPolicy || !p.Exceptions[0].Expires.Equal(time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)) || p.Exceptions[1].By != vuln.ByVEX {
		t.Errorf("policy %+v", p)
	}

	_, err = vulnPolicy(t.Context(), config.VulnerabilitiesConfig{FailOn: "none", VEX: []string{filepath.Join(t.TempDir(), "missing.json")}}, noTrust, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "policy.vulnerabilities.vex[0]") {
		t.Errorf("missing VEX file: %v", err)
	}
}

// noTrust is the trusted material of a policy without signed VEX: asking
// for it is a mistake.
func noTrust() (root.TrustedMaterial, error) { return nil, errors.New("no trusted root in this test") }

// TestSignedVEX: a VEX document counts only when its bundle verifies
// for one of its signers; another signer, another document, or an
// attestation instead of a signature stop the gateway from starting.
func TestSignedVEX(t *testing.T) {
	ss := signtest.New(t)
	tr := ss.TrustedRoot(t)
	trusted := func() (root.TrustedMaterial, error) { return tr, nil }
	issuer, san := ss.Identity()
	dir := t.TempDir()
	doc := []byte(`{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","statements":[
	  {"vulnerability":{"name":"CVE-2024-45337"},"products":[{"@id":"pkg:golang/golang.org/x/crypto"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}`)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	docPath := write("app.vex.json", doc)
	bundlePath := write("app.vex.json.sigstore.json", ss.Bundle(t, &sign.PlainData{Data: doc}, nil))
	otherDoc := write("other.vex.json", append(doc, ' '))
	attestation := write("att.sigstore.json", ss.Bundle(t, &sign.DSSEData{PayloadType: hallmark.PayloadTypeInToto,
		Data: fmt.Appendf(nil, `{"_type":%q,"subject":[{"name":"a","digest":{"sha256":%q}}],"predicateType":"https://openvex.dev/ns/v0.2.0","predicate":{}}`,
			hallmark.StatementTypeV1, hallmark.SHA256(doc).Hex())}, nil))
	signer := []config.IdentityConfig{{Issuer: issuer, SubjectAlternativeName: san}}

	p, err := vulnPolicy(t.Context(), config.VulnerabilitiesConfig{FailOn: "critical",
		SignedVEX: []config.SignedVEX{{Document: docPath, Bundle: bundlePath, Signers: signer}}}, trusted, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Exceptions) != 1 || p.Exceptions[0].By != vuln.ByVEX || !strings.Contains(p.Exceptions[0].Source, "signed by "+san) {
		t.Errorf("exceptions %+v", p.Exceptions)
	}
	for name, sv := range map[string]config.SignedVEX{
		"another signer":   {Document: docPath, Bundle: bundlePath, Signers: []config.IdentityConfig{{Issuer: issuer, SubjectAlternativeName: "someone@else.example"}}},
		"another document": {Document: otherDoc, Bundle: bundlePath, Signers: signer},
		"an attestation":   {Document: docPath, Bundle: attestation, Signers: signer},
		"no bundle":        {Document: docPath, Bundle: filepath.Join(dir, "missing"), Signers: signer},
	} {
		_, err := vulnPolicy(t.Context(), config.VulnerabilitiesConfig{FailOn: "critical", SignedVEX: []config.SignedVEX{sv}}, trusted, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "policy.vulnerabilities.signedVex[0]") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
