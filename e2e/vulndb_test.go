//go:build e2e

package e2e

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vulnStatus runs `hallmark vulndb status --output json`.
func vulnStatus(t *testing.T) (imports int, advisories int64) {
	t.Helper()
	out, stderr, err := runCLI(t, "vulndb", "status", "--output", "json")
	if err != nil {
		t.Fatalf("hallmark vulndb status: %v\n%s", err, stderr)
	}
	var st struct {
		Imports    []json.RawMessage `json:"imports"`
		Advisories string            `json:"advisories"` // int64 in protojson
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status %q: %v", out, err)
	}
	var n int64
	if st.Advisories != "" {
		if err := json.Unmarshal([]byte(st.Advisories), &n); err != nil {
			t.Fatalf("advisories %q: %v", st.Advisories, err)
		}
	}
	return len(st.Imports), n
}

// TestVulnDB: the Go vulnerability database imported through the
// gateway with the dev token shows in status; importing it again changes
// nothing; a caller no admin rule matches is refused; a hostile archive
// is refused and changes nothing.
func TestVulnDB(t *testing.T) {
	goZip := sharedAdvisories(t, "osv/Go-all.zip")[0]
	start := time.Now()
	out, stderr, err := runCLI(t, "vulndb", "import", goZip)
	took := time.Since(start)
	if err != nil || !strings.Contains(out, "imported Go-all.zip: 4291 records, ") {
		t.Fatalf("hallmark vulndb import: %v\n%s%s", err, out, stderr)
	}
	t.Logf("import of Go all.zip through the gateway (CLI): %s\n%s", took.Round(time.Millisecond), out)
	imports, advisories := vulnStatus(t)
	if advisories < 4291 || imports < 1 {
		t.Fatalf("status: %d imports, %d advisories; want the Go database's 4291", imports, advisories)
	}
	table, _, err := runCLI(t, "vulndb", "status")
	if err != nil || !strings.Contains(table, "Go-all.zip") || !strings.Contains(table, "4291") {
		t.Errorf("hallmark vulndb status: %v\n%s", err, table)
	}

	out, stderr, err = runCLI(t, "vulndb", "import", goZip)
	if err != nil || !strings.Contains(out, "4291 records, 0 changed") {
		t.Errorf("import again: %v\n%s%s", err, out, stderr)
	}
	if i, a := vulnStatus(t); i != imports || a != advisories {
		t.Errorf("after importing again: %d imports, %d advisories; want %d, %d", i, a, imports, advisories)
	}

	_, stderr, err = runCLI(t, "vulndb", "import", "--token-file", tokenFileOf(t, "e2e-vulndb-reader"), goZip)
	if exitCodeOf(err) != 2 || !strings.Contains(stderr, "permission_denied") {
		t.Errorf("import by a non-admin: %v\n%s", err, stderr)
	}

	evil := filepath.Join(t.TempDir(), "evil.zip")
	f, err := os.Create(evil)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, _ := zw.Create("../GO-2099-0001.json")
	_, _ = w.Write([]byte(`{"id":"GO-2099-0001","modified":"2099-01-01T00:00:00Z"}`))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, stderr, err = runCLI(t, "vulndb", "import", evil)
	if exitCodeOf(err) != 2 || !strings.Contains(stderr, "invalid_argument") || !strings.Contains(stderr, "../GO-2099-0001.json") {
		t.Errorf("hostile zip: %v\n%s", err, stderr)
	}
	if i, a := vulnStatus(t); i != imports || a != advisories {
		t.Errorf("after the hostile zip: %d imports, %d advisories; want %d, %d", i, a, imports, advisories)
	}
}
