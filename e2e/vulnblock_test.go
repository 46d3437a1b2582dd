//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/config"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// predicateVulns is the scan attestation's predicate type.
const predicateVulns = "https://in-toto.io/attestation/vulns/v0.1"

// vulnsPredicate is the part of the scan attestation's predicate the
// tests read (docs/vulnerabilities.md#the-scan-attestation).
type vulnsPredicate struct {
	Scanner struct {
		DB struct {
			Version string `json:"version"`
			Records int    `json:"records"`
			Imports []struct {
				Source string `json:"source"`
			} `json:"imports"`
		} `json:"db"`
		Result []struct {
			ID       string   `json:"id"`
			Aliases  []string `json:"aliases"`
			Package  string   `json:"package"`
			Fixed    []string `json:"fixed"`
			Excepted *struct {
				Reason  string     `json:"reason"`
				Expires *time.Time `json:"expires"`
				By      string     `json:"by"`
			} `json:"excepted"`
		} `json:"result"`
	} `json:"scanner"`
	Policy struct {
		FailOn string `json:"failOn"`
	} `json:"policy"`
	Summary struct {
		Critical int `json:"critical"`
		Excepted int `json:"excepted"`
		Blocking int `json:"blocking"`
	} `json:"summary"`
}

// buildSSHApp builds e2e/testdata/sshapp, a Go program linking
// golang.org/x/crypto/ssh v0.30.0 (CVE-2024-45337), and returns the path
// of the executable.
func buildSSHApp(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sshapp")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = filepath.Join(env.repo, "e2e", "testdata", "sshapp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build sshapp: %v\n%s", err, out)
	}
	return bin
}

// sharedAdvisories returns the paths of the advisory files rel (slash
// separated, below ../shared/testdata/vulndb beside the repository); a
// missing one fails t.
func sharedAdvisories(t *testing.T, rel ...string) []string {
	t.Helper()
	var out []string
	for _, r := range rel {
		p := filepath.Join(env.repo, "..", "shared", "testdata", "vulndb", filepath.FromSlash(r))
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("the shared advisories beside the repository are missing: %v", err)
		}
		out = append(out, p)
	}
	return out
}

// adminRules are authorization rules (gatewayOpts.rules) that let callers
// push to and read the stack's registry and make config.DevAdminSubject an
// administrator, who may import advisories.
func adminRules() string {
	r := env.stack.Registry + "/**"
	return fmt.Sprintf("[{issuer: {{issuer}}, repositories: [%q], pull: [%q]}, {issuer: {{issuer}}, subject: %q, admin: true}]",
		r, r, config.DevAdminSubject)
}

// tokenFileOf writes a token of subject to a file for the CLI's
// --token-file and returns its path.
func tokenFileOf(t *testing.T, subject string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte(token(t, subject)), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// sbomPURLs returns the purls of an SPDX document's packages.
func sbomPURLs(t *testing.T, predicate []byte) []string {
	t.Helper()
	var doc struct {
		Packages []struct {
			ExternalRefs []struct {
				Type    string `json:"referenceType"`
				Locator string `json:"referenceLocator"`
			} `json:"externalRefs"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(predicate, &doc); err != nil {
		t.Fatalf("parse SBOM: %v", err)
	}
	var out []string
	for _, p := range doc.Packages {
		for _, r := range p.ExternalRefs {
			if r.Type == "purl" {
				out = append(out, r.Locator)
			}
		}
	}
	return out
}

// buildLogs joins the names of the progress's vertexes and its log lines.
func buildLogs(events []*hallmarkv1.BuildResponse) string {
	var b strings.Builder
	for _, e := range events {
		for _, v := range e.GetStatus().GetVertexes() {
			b.WriteString(v.GetName() + "\n")
		}
		b.WriteString(logText(e))
	}
	return b.String()
}

// TestVulnBlock is build-time scanning end to end on the real stack: an
// image whose Go binary links golang.org/x/crypto v0.30.0 is built through
// a gateway that fails on critical findings and holds the Go database and
// GitHub's advisory for CVE-2024-45337 (imported with the CLI by an
// administrator). The build fails with FailedPrecondition naming the
// finding, and no tag moves. Restarted on the same data directory (the
// advisories persist in its store) with an exception for the advisory,
// the gateway builds the image, tags it and attests the scan, which lists
// the finding as excepted with the exception's reason.
func TestVulnBlock(t *testing.T) {
	st := env.stack.State
	advisories := sharedAdvisories(t, "osv/Go-all.zip", "ghsa/GHSA-v778-237x-gjrc.json", "ghsa/GHSA-69ch-w2m2-3vjp.json")

	start := time.Now()
	bin := buildSSHApp(t)
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("go build sshapp (%d bytes): %s", len(exe), time.Since(start).Round(time.Millisecond))
	contextTar := makeTar(t,
		tarEntry{name: "Dockerfile", body: "FROM " + st.BaseImage + "\nCOPY sshapp /usr/local/bin/sshapp\nUSER 65532\n"},
		tarEntry{name: "sshapp", body: string(exe), mode: 0o755},
	)
	tag := st.Registry + "/e2e/vulnblock:v1"
	rules := adminRules()
	dataDir := t.TempDir()
	const policy = "policy:\n  vulnerabilities:\n    failOn: critical\n"

	// Gateway A: failOn critical, advisories imported by the admin.
	start = time.Now()
	gwA, stopA := launchGateway(t, gatewayOpts{buildkit: st.BuildKit, registry: st.Registry, rules: rules, dataDir: dataDir, extraYAML: policy})
	tokenFile := tokenFileOf(t, config.DevAdminSubject)
	out, stderr, err := runCLI(t, append([]string{"vulndb", "import", "--gateway", gwA, "--token-file", tokenFile}, advisories...)...)
	if err != nil {
		t.Fatalf("hallmark vulndb import: %v\n%s%s", err, out, stderr)
	}
	for _, want := range []string{"imported Go-all.zip: 4291 records, ", "imported GHSA-v778-237x-gjrc.json: ", "imported GHSA-69ch-w2m2-3vjp.json: "} {
		if !strings.Contains(out, want) {
			t.Errorf("hallmark vulndb import says\n%s\nwithout %q", out, want)
		}
	}
	t.Logf("gateway A started and advisories imported: %s\n%s", time.Since(start).Round(time.Millisecond), out)

	start = time.Now()
	c := hallmarkv1connectClient(gwA, token(t, "e2e-vulnblock"))
	dgst, err := upload(t.Context(), c, contextTar)
	if err != nil {
		t.Fatal(err)
	}
	_, events, err := build(t.Context(), c, buildRequest(dgst, tag))
	t.Logf("blocked build: %s", time.Since(start).Round(time.Millisecond))
	if code(err) != connect.CodeFailedPrecondition {
		t.Fatalf("build through gateway A: %v (code %v), want FailedPrecondition", err, code(err))
	}
	for _, want := range []string{
		"policy.vulnerabilities failOn: critical", "CVE-2024-45337", "GO-2024-3321", "GHSA-v778-237x-gjrc",
		"pkg:golang/golang.org/x/crypto@v0.30.0", "0.30.0 → 0.31.0", ", critical",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if logs := buildLogs(events); !strings.Contains(logs, "blocking: ") || !strings.Contains(logs, "CVE-2024-45337") {
		t.Errorf("the progress names no blocking finding:\n%s", logs)
	}
	if _, err := remoteImage(t, tag); err == nil {
		t.Errorf("tag %s exists after a blocked build", tag)
	}
	stopA()

	// Gateway B: the same store, the same policy and an exception.
	const reason = "e2e: sshapp makes no SSH server"
	expires := time.Now().UTC().AddDate(1, 0, 0).Format(time.DateOnly)
	start = time.Now()
	gwB, _ := launchGateway(t, gatewayOpts{buildkit: st.BuildKit, registry: st.Registry, rules: rules, dataDir: dataDir, extraYAML: policy + fmt.Sprintf(
		"    exceptions:\n    - {advisory: CVE-2024-45337, package: \"pkg:golang/golang.org/x/crypto\", reason: %q, expires: %q}\n", reason, expires)})
	c = hallmarkv1connectClient(gwB, token(t, "e2e-vulnblock"))
	dgst, err = upload(t.Context(), c, contextTar)
	if err != nil {
		t.Fatal(err)
	}
	res, events, err := build(t.Context(), c, buildRequest(dgst, tag))
	t.Logf("gateway B started, build with the exception: %s", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("build through gateway B: %v", err)
	}
	desc, err := remoteImage(t, tag)
	if err != nil {
		t.Fatalf("tag %s after the build: %v", tag, err)
	}
	if desc.Digest.String() != res.GetDigest() {
		t.Errorf("tag %s is %s, the build's result %s", tag, desc.Digest, res.GetDigest())
	}
	if !slices.ContainsFunc(res.GetAttestations(), func(a *hallmarkv1.Attestation) bool { return a.GetPredicateType() == predicateVulns }) {
		t.Errorf("the result's attestations lack %s: %v", predicateVulns, res.GetAttestations())
	}
	// The scan step says what the policy did; an unexpired exception's
	// reason is in the attestation, not in the warnings.
	if logs := buildLogs(events); !strings.Contains(logs, "(1 excepted, 0 blocking)") {
		t.Errorf("the progress does not show the excepted finding:\n%s", logs)
	}
	for _, w := range res.GetWarnings() {
		if strings.Contains(w, "HallmarkVulnScan") || strings.Contains(w, "no advisory data") {
			t.Errorf("warning %q", w)
		}
	}

	statements := verifiedStatements(t, res.GetPinned())
	sbom, scan := statements[hallmark.PredicateSPDX], statements[predicateVulns]
	if sbom == nil || scan == nil {
		t.Fatalf("want the SBOM and the scan attestation, got %v", keys(statements))
	}
	if purls := sbomPURLs(t, sbom.Predicate); !slices.Contains(purls, "pkg:golang/golang.org/x/crypto@v0.30.0") {
		t.Errorf("the SBOM does not catalog x/crypto v0.30.0: %v", purls)
	}
	var pred vulnsPredicate
	if err := json.Unmarshal(scan.Predicate, &pred); err != nil {
		t.Fatalf("parse the scan predicate: %v", err)
	}
	// The database is the store's three imports, loaded at B's start;
	// its version is the first one's sha256.
	var sources []string
	for _, i := range pred.Scanner.DB.Imports {
		sources = append(sources, i.Source)
	}
	if want := []string{"Go-all.zip", "GHSA-v778-237x-gjrc.json", "GHSA-69ch-w2m2-3vjp.json"}; !slices.Equal(sources, want) || pred.Scanner.DB.Records != 4293 {
		t.Errorf("the scan's database: imports %v, %d records; want %v (imported into gateway A's store), 4293", sources, pred.Scanner.DB.Records, want)
	}
	goZip, err := os.ReadFile(advisories[0])
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(goZip); pred.Scanner.DB.Version != hex.EncodeToString(sum[:]) {
		t.Errorf("the scan's database version %q, want the sha256 of Go-all.zip %x", pred.Scanner.DB.Version, sum)
	}
	found := 0
	for _, r := range pred.Scanner.Result {
		if r.ID != "CVE-2024-45337" && !slices.Contains(r.Aliases, "CVE-2024-45337") {
			continue
		}
		found++
		if r.Package != "pkg:golang/golang.org/x/crypto@v0.30.0" || !slices.Contains(r.Fixed, "0.31.0") {
			t.Errorf("finding %s: package %s, fixed %v", r.ID, r.Package, r.Fixed)
		}
		if r.Excepted == nil || r.Excepted.Reason != reason || r.Excepted.By != "policy" || r.Excepted.Expires == nil ||
			r.Excepted.Expires.Format(time.DateOnly) != expires {
			t.Errorf("finding %s excepted %+v, want reason %q by policy until %s", r.ID, r.Excepted, reason, expires)
		}
	}
	if found != 1 {
		t.Errorf("the scan lists %d findings of CVE-2024-45337, want 1: %s", found, scan.Predicate)
	}
	if pred.Policy.FailOn != "critical" || pred.Summary.Blocking != 0 || pred.Summary.Excepted != 1 || pred.Summary.Critical != 0 {
		t.Errorf("policy %+v, summary %+v; want failOn critical, 1 excepted, none critical or blocking", pred.Policy, pred.Summary)
	}
}
