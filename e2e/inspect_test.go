//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/devstack"
)

// inspectOutput is the part of `hallmark inspect --output json` the tests
// read.
type inspectOutput struct {
	Digest       string `json:"digest"`
	Verified     bool   `json:"verified"`
	Attestations []struct {
		PredicateType  string `json:"predicateType"`
		Verified       bool   `json:"verified"`
		Failure        string `json:"failure"`
		SignerIdentity string `json:"signerIdentity"`
		SignerIssuer   string `json:"signerIssuer"`
		LogIndex       *int64 `json:"logIndex"`
		Timestamp      string `json:"timestamp"`
	} `json:"attestations"`
	Provenance *struct {
		BuilderID string `json:"builderId"`
		Requester struct {
			Issuer  string `json:"issuer"`
			Subject string `json:"subject"`
		} `json:"requester"`
		BaseImages []struct {
			URI    string `json:"uri"`
			Digest string `json:"digest"`
		} `json:"baseImages"`
	} `json:"provenance"`
	SBOM *struct {
		Packages int            `json:"packages"`
		ByType   map[string]int `json:"byType"`
	} `json:"sbom"`
}

// TestInspect builds the example through the stack and reads it back with
// `hallmark inspect` and `hallmark sbom`, which verify against the dev
// stack's trusted root and gateway identity by default.
func TestInspect(t *testing.T) {
	st := env.stack.State
	tag := st.Registry + "/e2e/inspect:v1"
	stdout, stderr, err := runCLI(t, helloBuild("--progress", "quiet", "-t", tag)...)
	if err != nil {
		t.Fatalf("hallmark build: %v\n%s", err, stderr)
	}
	pinned := strings.TrimSpace(stdout)
	digest := pinned[strings.Index(pinned, "@")+1:]

	t.Run("inspect json", func(t *testing.T) {
		stdout, stderr, err := runCLI(t, "inspect", "--output", "json", tag)
		if err != nil {
			t.Fatalf("hallmark inspect: %v\n%s", err, stderr)
		}
		var out inspectOutput
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("decode inspect output: %v\n%s", err, stdout)
		}
		if out.Digest != digest || !out.Verified || out.Provenance == nil || out.SBOM == nil {
			t.Fatalf("inspect output:\n%s", stdout)
		}
		if len(out.Attestations) != 2 {
			t.Errorf("%d attestations, want SBOM and provenance:\n%s", len(out.Attestations), stdout)
		}
		for _, a := range out.Attestations {
			if !a.Verified || a.SignerIdentity != devstack.BuilderID || a.SignerIssuer != st.Issuer || a.LogIndex == nil || a.Timestamp == "" {
				t.Errorf("attestation %+v, want verified, signed by %s from %s, logged and timestamped", a, devstack.BuilderID, st.Issuer)
			}
		}
		p := out.Provenance
		if p.BuilderID != devstack.BuilderID {
			t.Errorf("builder id = %q, want %q", p.BuilderID, devstack.BuilderID)
		}
		if p.Requester.Subject != "dev-ci" || p.Requester.Issuer != st.Issuer {
			t.Errorf("requester = %+v, want the CLI's dev token subject from %s", p.Requester, st.Issuer)
		}
		bases := map[string]bool{}
		for _, b := range p.BaseImages {
			bases[b.Digest] = true
		}
		for _, base := range []string{st.BaseImage, st.GolangImage} {
			if d := base[strings.Index(base, "@")+1:]; !bases[d] {
				t.Errorf("base images %+v lack %s", p.BaseImages, base)
			}
		}
		if out.SBOM.Packages == 0 || out.SBOM.ByType["golang"] == 0 {
			t.Errorf("sbom summary %+v, want Go packages", out.SBOM)
		}
	})

	t.Run("inspect text", func(t *testing.T) {
		stdout, stderr, err := runCLI(t, "inspect", pinned)
		if err != nil {
			t.Fatalf("hallmark inspect: %v\n%s", err, stderr)
		}
		t.Logf("hallmark inspect %s:\n%s", pinned, stdout)
		for _, want := range []string{"Attestations: 2, 2 verified", devstack.BuilderID, "requester      dev-ci", "Provenance", "SBOM"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
	})

	t.Run("sbom", func(t *testing.T) {
		stdout, stderr, err := runCLI(t, "sbom", tag)
		if err != nil {
			t.Fatalf("hallmark sbom: %v\n%s", err, stderr)
		}
		checkHelloSBOM(t, []byte(stdout))
	})

	t.Run("wrong signer", func(t *testing.T) {
		_, stderr, err := runCLI(t, "inspect", "--certificate-identity", "https://evil.example/builder", tag)
		if code := exitCode(err); code != 1 || !strings.Contains(stderr, "does not match the policy") {
			t.Errorf("exit %d (%v), stderr:\n%s\nwant exit 1 naming the identity mismatch", code, err, stderr)
		}
	})
}

// TestInspectUnattested inspects an image that BuildKit built and pushed
// directly, without the gateway: it has no attestations.
func TestInspectUnattested(t *testing.T) {
	st := env.stack.State
	buildctl, err := devstack.Tool(t.Context(), env.repo, "buildkit", "buildctl", os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+st.BaseImage+"\nUSER 65532\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tag := st.Registry + "/e2e/unattested:v1"
	cmd := exec.CommandContext(t.Context(), buildctl, "--addr", st.BuildKit, "build", "--progress", "quiet",
		"--frontend", "dockerfile.v0", "--local", "context="+dir, "--local", "dockerfile="+dir,
		"--output", "type=image,name="+tag+",push=true,registry.insecure=true,oci-mediatypes=true")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("buildctl build: %v\n%s", err, out)
	}

	stdout, stderr, err := runCLI(t, "inspect", tag)
	if code := exitCode(err); code != 1 {
		t.Fatalf("hallmark inspect exit %d (%v), want 1\n%s\n%s", code, err, stdout, stderr)
	}
	if !strings.Contains(stderr, "no verified https://slsa.dev/provenance/v1") || !strings.Contains(stderr, "the image has no attestations") {
		t.Errorf("stderr does not say that the image has no attestations:\n%s", stderr)
	}
	if !strings.Contains(stdout, "Attestations: 0, 0 verified") {
		t.Errorf("stdout:\n%s", stdout)
	}

	_, stderr, err = runCLI(t, "sbom", tag)
	if code := exitCode(err); code != 1 || !strings.Contains(stderr, "no verified https://spdx.dev/Document") {
		t.Errorf("hallmark sbom exit %d (%v), stderr:\n%s\nwant exit 1 saying there is no verified SBOM", code, err, stderr)
	}

	_, stderr, err = runCLI(t, "inspect", st.Registry+"/e2e/unattested:missing")
	if code := exitCode(err); code != 2 || !strings.Contains(stderr, "image does not exist") {
		t.Errorf("inspect of a missing tag: exit %d (%v), stderr:\n%s\nwant exit 2", code, err, stderr)
	}
}

// exitCode is the exit status of a finished command, 0 for success.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
