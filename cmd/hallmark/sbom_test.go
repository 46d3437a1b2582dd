package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/golden"
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

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no sbom", []string{provOnly.String()}, 1, "hallmark sbom: no verified https://spdx.dev/Document for " + provOnly.String() + ": 1 attestation(s), none verified as one:\n  https://slsa.dev/provenance/v1 verified, but is not https://spdx.dev/Document"},
		{"wrong signer", []string{"--certificate-oidc-issuer", "https://other.example", img.String()}, 1, "does not match the policy"},
		{"bad output", []string{"--output", "spdx", img.String()}, 2, `unknown format "spdx", want json or text`},
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
