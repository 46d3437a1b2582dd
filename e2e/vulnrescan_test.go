//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/config"
)

// TestVulnRescan: an image shipped while its gateway had no advisories
// shows the finding of an advisory imported afterwards, without a
// rebuild: in `hallmark vulns IMAGE` (exit 1), in `hallmark vulns
// --advisory`, in the metrics, and in a fresh scan attestation the
// gateway signed for the image, which verifies and marks the finding
// blocking.
func TestVulnRescan(t *testing.T) {
	st := env.stack.State
	advisories := sharedAdvisories(t, "osv/Go-all.zip", "ghsa/GHSA-v778-237x-gjrc.json")
	exe, err := os.ReadFile(buildSSHApp(t))
	if err != nil {
		t.Fatal(err)
	}
	gw, _ := launchGateway(t, gatewayOpts{buildkit: st.BuildKit, registry: st.Registry, rules: adminRules(),
		extraYAML: "policy:\n  vulnerabilities:\n    failOn: critical\nvulndb: {refresh: 2s}\n"})
	tokenFile := tokenFileOf(t, config.DevAdminSubject)
	vulns := func(args ...string) (string, string, int) {
		t.Helper()
		out, stderr, err := runCLI(t, append([]string{"vulns", "--gateway", gw, "--token-file", tokenFile}, args...)...)
		return out, stderr, exitCodeOf(err)
	}

	// Shipped without advisories: built and tagged, with a warning.
	c := hallmarkv1connectClient(gw, token(t, "e2e-vulnrescan"))
	dgst, err := upload(t.Context(), c, makeTar(t,
		tarEntry{name: "Dockerfile", body: "FROM " + st.BaseImage + "\nCOPY sshapp /usr/local/bin/sshapp\nLABEL e2e.rescan=1\nUSER 65532\n"},
		tarEntry{name: "sshapp", body: string(exe), mode: 0o755}))
	if err != nil {
		t.Fatal(err)
	}
	tag := st.Registry + "/e2e/vulnrescan:v1"
	res, _, err := build(t.Context(), c, buildRequest(dgst, tag))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if _, stderr, code := vulns(tag); code != 2 || !strings.Contains(stderr, "no vulnerability advisories loaded") {
		t.Errorf("before the import: exit %d\n%s", code, stderr)
	}

	// The advisories arrive; the image is not rebuilt.
	start := time.Now()
	if out, stderr, err := runCLI(t, append([]string{"vulndb", "import", "--gateway", gw, "--token-file", tokenFile}, advisories...)...); err != nil {
		t.Fatalf("hallmark vulndb import: %v\n%s%s", err, out, stderr)
	}
	var out, stderr string
	code := 0
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		// The Go record arrives first (no severity), then GitHub's, whose
		// CVSS makes the finding critical at the next re-scan.
		if out, stderr, code = vulns("--fail-on", "critical", tag); code == 1 {
			break
		}
	}
	t.Logf("import to finding: %s", time.Since(start).Round(time.Millisecond))
	if code != 1 || !strings.Contains(out, "CVE-2024-45337") || !strings.Contains(out, "pkg:golang/golang.org/x/crypto@v0.30.0") ||
		!strings.Contains(out, "critical") || !strings.Contains(stderr, "at or above --fail-on") {
		t.Fatalf("hallmark vulns %s after the import: exit %d\n%s%s", tag, code, out, stderr)
	}
	out, _, code = vulns("--advisory", "CVE-2024-45337", "--output", "json")
	var listed struct {
		Findings []struct {
			Repository string `json:"repository"`
			Digest     string `json:"digest"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &listed); err != nil || code != 1 || len(listed.Findings) != 1 ||
		listed.Findings[0].Repository != st.Registry+"/e2e/vulnrescan" || listed.Findings[0].Digest != res.GetDigest() {
		t.Errorf("hallmark vulns --advisory CVE-2024-45337: exit %d, %v\n%s", code, err, out)
	}
	if _, _, code := vulns("--fail-on", "none", tag); code != 0 {
		t.Errorf("--fail-on none: exit %d", code)
	}
	if n := metric(t, gw, `hallmark_vuln_affected_images{severity="critical"}`); n != 1 {
		t.Errorf("hallmark_vuln_affected_images{severity=\"critical\"} = %v, want 1", n)
	}

	// The gateway signed a fresh scan for the shipped image that marks
	// the finding blocking (an earlier one, signed after the Go records
	// alone, rated it unknown).
	blocking := func() bool {
		for _, st := range verifiedStatementList(t, res.GetPinned()) {
			if st.PredicateType != predicateVulns {
				continue
			}
			var pred struct {
				Scanner struct {
					Result []struct {
						ID       string   `json:"id"`
						Aliases  []string `json:"aliases"`
						Blocking bool     `json:"blocking"`
					} `json:"result"`
				} `json:"scanner"`
			}
			if err := json.Unmarshal(st.Predicate, &pred); err != nil {
				t.Fatal(err)
			}
			for _, r := range pred.Scanner.Result {
				if (r.ID == "CVE-2024-45337" || slices.Contains(r.Aliases, "CVE-2024-45337")) && r.Blocking {
					return true
				}
			}
		}
		return false
	}
	start = time.Now()
	for deadline := time.Now().Add(60 * time.Second); !blocking(); time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatalf("no verified scan attestation on %s marks CVE-2024-45337 blocking after 60 s (%v signed)", res.GetPinned(),
				metric(t, gw, `hallmark_vuln_scans_resigned_total{outcome="signed"}`))
		}
	}
	t.Logf("re-signed scan with the blocking finding verified after %s", time.Since(start).Round(time.Millisecond))
}
