package vuln

import (
	"errors"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

const vexHead = `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/1","author":"sec@example.com","timestamp":"2026-01-01T00:00:00Z","version":1,"statements":[`

func vexDocument(statements string) []byte { return []byte(vexHead + statements + `]}`) }

func TestParseOpenVEX(t *testing.T) {
	data := vexDocument(`
	  {"vulnerability":{"name":"CVE-2024-45337"},"products":[{"@id":"pkg:oci/app?repository_url=registry.example.com/app","subcomponents":[{"@id":"pkg:golang/golang.org/x/crypto@v0.30.0"},{"@id":"pkg:golang/golang.org/x/crypto@v0.29.0"}]}],
	   "status":"not_affected","justification":"vulnerable_code_not_in_execute_path","impact_statement":"no ssh server"},
	  {"vulnerability":{"name":"CVE-2025-1"},"products":[{"@id":"pkg:deb/debian/libc6"}],"status":"not_affected","justification":"inline_mitigations_already_exist"},
	  {"vulnerability":{"name":"CVE-2025-2"},"products":[{"@id":"pkg:oci/app"}],"status":"not_affected","justification":"component_not_present"},
	  {"vulnerability":{"name":"CVE-2025-3"},"products":[{"@id":"pkg:deb/debian/zlib1g"}],"status":"affected"}`)
	ex, warnings, err := ParseOpenVEX("app.vex.json", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 3 || len(warnings) != 1 {
		t.Fatalf("exceptions %+v, warnings %q; want 3 and 1", ex, warnings)
	}
	if e := ex[0]; e.Advisory != "CVE-2024-45337" || e.Package != "pkg:golang/golang.org/x/crypto@v0.30.0" || e.By != ByVEX || e.Source != "app.vex.json" ||
		e.Reason != "VEX not_affected: vulnerable_code_not_in_execute_path: no ssh server" || !e.Expires.IsZero() {
		t.Errorf("exception %+v", e)
	}
	if ex[2].Package != "pkg:deb/debian/libc6" {
		t.Errorf("product without subcomponents: %+v", ex[2])
	}
}

func TestParseOpenVEXRefuses(t *testing.T) {
	ok := `{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:npm/a"}],"status":"not_affected","justification":"component_not_present"}`
	tests := []struct {
		name string
		data []byte
		want string
		err  error
	}{
		{name: "not JSON", data: []byte("{"), want: "OpenVEX document x", err: hallmark.ErrInvalid},
		{name: "trailing data", data: append(vexDocument(ok), "{}"...), want: "trailing data", err: hallmark.ErrInvalid},
		{name: "old context", data: []byte(strings.Replace(string(vexDocument(ok)), "v0.2.0", "v0.0.1", 1)), want: "@context", err: hallmark.ErrInvalid},
		{name: "no justification", data: vexDocument(strings.Replace(ok, `"justification":"component_not_present"`, `"impact_statement":"x"`, 1)), want: "statements[0].justification", err: hallmark.ErrInvalid},
		{name: "unknown status", data: vexDocument(strings.Replace(ok, "not_affected", "maybe", 1)), want: "statements[0].status", err: hallmark.ErrInvalid},
		{name: "no vulnerability", data: vexDocument(strings.Replace(ok, `"name":"CVE-1"`, `"name":""`, 1)), want: "vulnerability.name: empty", err: hallmark.ErrInvalid},
		{name: "not a purl", data: vexDocument(strings.Replace(ok, "pkg:npm/a", "npm a", 1)), want: "products[0].@id", err: hallmark.ErrInvalid},
		{name: "no products", data: vexDocument(strings.Replace(ok, `[{"@id":"pkg:npm/a"}]`, `[]`, 1)), want: "products: empty", err: hallmark.ErrInvalid},
		{name: "too large", data: make([]byte, MaxVEXBytes+1), want: "bytes", err: hallmark.ErrTooLarge},
		{name: "too many statements", data: vexDocument(strings.Repeat(ok+",", maxVEXStatements) + ok), want: "statements, limit", err: hallmark.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseOpenVEX("x", tt.data)
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %v containing %q", err, tt.err, tt.want)
			}
		})
	}
}

func FuzzParseOpenVEX(f *testing.F) {
	f.Add(vexDocument(`{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:npm/a","subcomponents":[{"@id":"pkg:npm/b@1"}]}],"status":"not_affected","justification":"component_not_present"}`))
	f.Add(vexDocument(`{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:oci/a"}],"status":"fixed"}`))
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, _, err := ParseOpenVEX("fuzz", data)
		if err != nil {
			if !errors.Is(err, hallmark.ErrInvalid) && !errors.Is(err, hallmark.ErrTooLarge) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		for _, e := range ex {
			if e.Advisory == "" || !strings.HasPrefix(e.Package, "pkg:") || e.By != ByVEX || e.Reason == "" {
				t.Fatalf("exception %+v", e)
			}
		}
	})
}
