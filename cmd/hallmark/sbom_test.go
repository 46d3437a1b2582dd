package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/golden"
	"github.com/hallmark-dev/hallmark/internal/intoto"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/verify"
)

func TestSBOMCommand(t *testing.T) {
	f := newCLIFixture(t)
	img := f.pushImage(t, "acme/app")
	f.attest(t, img, hallmark.PredicateSLSAProvenanceV1)
	statement := f.attest(t, img, hallmark.PredicateSPDX)
	provOnly := f.pushImage(t, "acme/provonly")
	f.attest(t, provOnly, hallmark.PredicateSLSAProvenanceV1)

	t.Run("json prints the signed bytes", func(t *testing.T) {
		r := runVerifyCmd(t, newSBOMCommand, f.env, f.host+"/acme/app:v1")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var st struct {
			Predicate json.RawMessage `json:"predicate"`
		}
		if err := json.Unmarshal(statement, &st); err != nil {
			t.Fatal(err)
		}
		if r.stdout != string(st.Predicate)+"\n" || r.stdout != testSPDX+"\n" {
			t.Errorf("stdout is not the signed predicate and a newline:\n%s", r.stdout)
		}
	})
	t.Run("text table", func(t *testing.T) {
		r := runVerifyCmd(t, newSBOMCommand, f.env, "--output", "text", img.String())
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		golden.Check(t, filepath.Join("testdata", "sbom-table.txt"), []byte(r.stdout))
	})

	t.Run("cyclonedx", func(t *testing.T) {
		r := runVerifyCmd(t, newSBOMCommand, f.env, "--format", "cyclonedx", img.String())
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		golden.Check(t, filepath.Join("testdata", "sbom-cyclonedx.json"), []byte(r.stdout))
		if again := runVerifyCmd(t, newSBOMCommand, f.env, "--format", "cyclonedx", img.String()); again.stdout != r.stdout {
			t.Error("the same SBOM converted to different bytes")
		}
	})

	t.Run("cyclonedx with the gateway's findings", func(t *testing.T) {
		g := queryFixture(0)
		g.findings = &hallmarkv1.ListFindingsResponse{Advisories: 2, ScannedAt: qTime(1), Findings: []*hallmarkv1.Finding{
			{Advisory: "GO-2099-0001", Aliases: []string{"CVE-2099-0001"}, Package: "pkg:golang/golang.org/x/text@v0.43.0", Installed: "0.43.0",
				Fixed: []string{"0.44.0"}, Severity: "high", Score: 7.5, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"},
			{Advisory: "GO-2099-0002", Package: "pkg:golang/golang.org/x/net@v0.1.0", Severity: "low"}, // another platform's
		}}
		gw := startQuery(t, g)
		tok := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(tok, []byte(testToken), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runVerifyCmd(t, newSBOMCommand, f.env, "--format", "cyclonedx", "--vulnerabilities", "--gateway", gw, "--token-file", tok, img.String())
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var bom struct {
			Vulnerabilities []struct {
				ID      string `json:"id"`
				Affects []struct {
					Ref string `json:"ref"`
				} `json:"affects"`
			} `json:"vulnerabilities"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &bom); err != nil {
			t.Fatal(err)
		}
		if len(bom.Vulnerabilities) != 1 || bom.Vulnerabilities[0].ID != "GO-2099-0001" || len(bom.Vulnerabilities[0].Affects) != 1 {
			t.Errorf("vulnerabilities %+v", bom.Vulnerabilities)
		}
		g.mu.Lock()
		req := g.requests[0].(*hallmarkv1.ListFindingsRequest)
		g.mu.Unlock()
		if req.GetImage() != img.Context().Name()+"@"+img.DigestStr() {
			t.Errorf("asked for the findings of %q", req.GetImage())
		}
		g.findings = &hallmarkv1.ListFindingsResponse{}
		if r := runVerifyCmd(t, newSBOMCommand, f.env, "--format", "cyclonedx", "--vulnerabilities", "--gateway", gw, "--token-file", tok, img.String()); r.code != 2 ||
			!strings.Contains(r.stderr, "no vulnerability advisories loaded") || r.stdout != "" {
			t.Errorf("no advisories: exit %d, %s", r.code, r.stderr)
		}
	})

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"vulnerabilities without cyclonedx", []string{"--vulnerabilities", img.String()}, 2, "--vulnerabilities adds findings to a CycloneDX BOM"},
		{"no sbom", []string{provOnly.String()}, 1, "hallmark sbom: no verified https://spdx.dev/Document for " + provOnly.String() + ": 1 attestation(s), none verified as one:\n  https://slsa.dev/provenance/v1 verified, but is not https://spdx.dev/Document"},
		{"wrong signer", []string{"--certificate-oidc-issuer", "https://other.example", img.String()}, 1, "does not match the policy"},
		{"bad output", []string{"--output", "spdx", img.String()}, 2, `unknown format "spdx", want json or text`},
		{"bad format", []string{"--format", "cdx", img.String()}, 2, `parse --format: unknown format "cdx", want spdx or cyclonedx`},
		{"cyclonedx as text", []string{"--format", "cyclonedx", "--output", "text", img.String()}, 2, "--format cyclonedx prints JSON: use it with --output json"},
		{"cyclonedx without sbom", []string{"--format", "cyclonedx", provOnly.String()}, 1, "no verified https://spdx.dev/Document"},
		{"two images", []string{img.String(), img.String()}, 2, "want exactly one IMAGE, got 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runVerifyCmd(t, newSBOMCommand, f.env, tt.args...)
			if r.code != tt.code || r.stdout != "" || !strings.Contains(r.stderr, tt.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr:\n%s\nwant exit %d and %q", r.code, r.stdout, r.stderr, tt.code, tt.stderr)
			}
		})
	}
}

// TestSBOMCycloneDXPackages converts testSPDX and finds each of its
// packages with the same purl, and refuses an SPDX document Hallmark did
// not write.
func TestSBOMCycloneDXPackages(t *testing.T) {
	var buf bytes.Buffer
	if err := writeCycloneDX(&buf, verify.Attestation{Statement: &intoto.ParsedStatement{Predicate: json.RawMessage(testSPDX)}}); err != nil {
		t.Fatal(err)
	}
	var bom struct {
		SpecVersion string `json:"specVersion"`
		Metadata    struct {
			Component struct{ Type, Version, Purl string }
		}
		Components []struct{ Name, Version, Purl string }
	}
	if err := json.Unmarshal(buf.Bytes(), &bom); err != nil {
		t.Fatal(err)
	}
	doc, err := readSPDX([]byte(testSPDX))
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, p := range doc.packages() {
		want = append(want, p.Name+" "+p.Version+" "+p.PURL)
	}
	for _, c := range bom.Components {
		got = append(got, c.Name+" "+c.Version+" "+c.Purl)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) || bom.SpecVersion != "1.6" || bom.Metadata.Component.Type != "container" {
		t.Errorf("spec %s, image %+v, components:\n%s\nwant:\n%s", bom.SpecVersion, bom.Metadata.Component, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	other := `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"x","documentNamespace":"https://example.com/x","creationInfo":{"creators":["Tool: other"],"created":"2026-01-01T00:00:00Z"},"packages":[]}`
	err = writeCycloneDX(&buf, verify.Attestation{Statement: &intoto.ParsedStatement{Predicate: json.RawMessage(other)}})
	if err == nil || !strings.Contains(err.Error(), "read verified sbom") {
		t.Errorf("another tool's SPDX document: err = %v", err)
	}
}

func TestSPDXPackages(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string // countsText
	}{
		{"hallmark", testSPDX, "5: 3 deb, 2 golang"},
		{"documentDescribes and no purl", `{"spdxVersion":"SPDX-2.2","documentDescribes":["SPDXRef-root"],"packages":[{"SPDXID":"SPDXRef-root","name":"img"},{"SPDXID":"SPDXRef-a","name":"a"},{"SPDXID":"SPDXRef-b","name":"b","externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:apk/wolfi/b@1"}]}]}`, "2: 1 apk, 1 unknown"},
		{"empty", `{"spdxVersion":"SPDX-2.3","packages":[]}`, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := readSPDX([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if got := doc.summary("").countsText(); got != tt.want {
				t.Errorf("counts = %q, want %q", got, tt.want)
			}
		})
	}
	for _, bad := range []string{`[]`, `{"spdxVersion":"SPDX-3.0"}`, `{`} {
		if _, err := readSPDX([]byte(bad)); err == nil {
			t.Errorf("readSPDX(%s) accepted it", bad)
		}
	}
}

func TestSBOMTableEscapes(t *testing.T) {
	doc, err := readSPDX([]byte(`{"spdxVersion":"SPDX-2.3","packages":[{"SPDXID":"SPDXRef-a","name":"evil\tname\nNAME","versionInfo":"\u001b[2J1.0"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := doc.writeTable(&buf); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(buf.String()), "\n"); len(lines) != 2 || strings.Contains(buf.String(), "\x1b") {
		t.Errorf("table lets data add lines or escapes:\n%q", buf.String())
	}
}
