package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	offlineGO = `{"id":"GO-2024-3321","modified":"2025-01-07T16:25:05Z","aliases":["CVE-2024-45337","GHSA-v778-237x-gjrc"],
	  "affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/crypto"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.31.0"}]}]}]}`
	offlineGHSA = `{"id":"GHSA-v778-237x-gjrc","modified":"2025-01-07T16:25:05Z","aliases":["CVE-2024-45337"],
	  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N"}],
	  "affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/crypto"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.31.0"}]}]}]}`
	offlineSPDX = `{"spdxVersion":"SPDX-2.3","packages":[
	  {"name":"golang.org/x/crypto","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:golang/golang.org/x/crypto@v0.30.0"}]},
	  {"name":"golang.org/x/text","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:golang/golang.org/x/text@v0.43.0"}]}]}`
	offlineCDX = `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"app","purl":"pkg:golang/example.com/app@v1.0.0",
	  "components":[{"name":"crypto","purl":"pkg:golang/golang.org/x/crypto@v0.30.0"}]}]}`
)

func writeFilesIn(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestVulnsOffline: advisories imported into a local database scan an
// SBOM from stdin without a gateway, with the exit codes of hallmark
// vulns; what would make the answer meaningless exits 2.
func TestVulnsOffline(t *testing.T) {
	src, db := t.TempDir(), filepath.Join(t.TempDir(), "vulndb")
	writeFilesIn(t, src, map[string]string{"GO-2024-3321.json": offlineGO, "GHSA-v778-237x-gjrc.json": offlineGHSA, "bad.json": `{"id":`})
	ctx := t.Context()
	run := func(stdin string, args ...string) runResult {
		t.Helper()
		cmd := newVulnDBCmd()
		if args[0] == "vulns" {
			cmd = newVulnsCmd()
		}
		return runGatewayCmd(ctx, t, cmd, stdin, args[1:]...)
	}

	if r := run(offlineSPDX, "vulns", "--offline", "--sbom", "-", "--db", db); exitCodeOf(r.err) != 2 || !strings.Contains(r.stderr, "is empty") {
		t.Errorf("empty database: %v\n%s", r.err, r.stderr)
	}
	r := run("", "vulndb", "import", "--local", "--db", db, filepath.Join(src, "GO-2024-3321.json"), filepath.Join(src, "GHSA-v778-237x-gjrc.json"))
	if r.err != nil || strings.Count(r.stdout, "imported ") != 2 || !strings.Contains(r.stdout, "1 records, newest modified 2025-01-07T16:25:05Z") {
		t.Fatalf("import: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	if r := run("", "vulndb", "import", "--local", "--db", db, filepath.Join(src, "GO-2024-3321.json")); r.err != nil || !strings.HasPrefix(r.stdout, "already imported GO-2024-3321.json") {
		t.Errorf("import again: %v\n%s", r.err, r.stdout)
	}
	if r := run("", "vulndb", "import", "--local", "--db", db, filepath.Join(src, "bad.json")); exitCodeOf(r.err) != 2 || !strings.Contains(r.stderr, "bad.json") {
		t.Errorf("bad record: %v\n%s", r.err, r.stderr)
	}
	r = run("", "vulndb", "status", "--local", "--db", db)
	if r.err != nil || !strings.Contains(r.stdout, "2 advisories loaded (Go 2)") || strings.Count(r.stdout, "local") != 2 {
		t.Errorf("status: %v\n%s", r.err, r.stdout)
	}

	r = run(offlineSPDX, "vulns", "--offline", "--sbom", "-", "--db", db)
	if exitCodeOf(r.err) != 1 || !strings.Contains(r.stdout, "critical  GO-2024-3321  CVE-2024-45337,GHSA-v778-237x-gjrc  pkg:golang/golang.org/x/crypto@v0.30.0  0.30.0     0.31.0") || !strings.Contains(r.stderr, "1 open findings at or above --fail-on (1 critical)") {
		t.Errorf("spdx: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	cdx := filepath.Join(src, "bom.json")
	writeFilesIn(t, src, map[string]string{"bom.json": offlineCDX})
	if r := run("", "vulns", "--offline", "--sbom", cdx, "--db", db, "--advisory", "CVE-2024-45337", "--output", "json"); exitCodeOf(r.err) != 1 ||
		!strings.Contains(r.stdout, `"package": "pkg:golang/golang.org/x/crypto@v0.30.0"`) {
		t.Errorf("cyclonedx: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	if r := run(offlineSPDX, "vulns", "--offline", "--sbom", "-", "--db", db, "--advisory", "CVE-2099-1"); r.err != nil {
		t.Errorf("another advisory: %v\n%s", r.err, r.stderr)
	}
	for _, tt := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"vulns", "--offline", "reg.example/app:v1"}, "--offline scans --sbom FILE"},
		{"", []string{"vulns", "--sbom", "-", "reg.example/app:v1"}, "--sbom and --db go with --offline"},
		{`{"spdxVersion":"SPDX-3.0"}`, []string{"vulns", "--offline", "--sbom", "-", "--db", db}, "neither an SPDX 2 JSON document nor a CycloneDX JSON BOM"},
		{`not json`, []string{"vulns", "--offline", "--sbom", "-", "--db", db}, "not JSON"},
	} {
		if r := run(tt.stdin, tt.args...); exitCodeOf(r.err) != 2 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%q: %v\n%s", tt.args, r.err, r.stderr)
		}
	}

	// A file changed after its import is refused, not silently used.
	entries, err := filepath.Glob(filepath.Join(db, "*.json"))
	if err != nil || len(entries) != 3 {
		t.Fatalf("database files %q, %v", entries, err)
	}
	for _, e := range entries {
		if filepath.Base(e) != localIndexFile {
			writeFilesIn(t, db, map[string]string{filepath.Base(e): offlineGO + " "})
			break
		}
	}
	if r := run(offlineSPDX, "vulns", "--offline", "--sbom", "-", "--db", db); exitCodeOf(r.err) != 2 || !strings.Contains(r.stderr, "changed since it was imported") {
		t.Errorf("tampered database: %v\n%s", r.err, r.stderr)
	}
}
