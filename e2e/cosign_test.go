//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/devstack"
)

// TestCosignSignedAndAttested: images that the pinned cosign signs (`cosign
// sign`) and attests (`cosign attest`, in-toto v0.1) keylessly through the
// stack's Fulcio, Rekor v2 and TSA verify under a policy that names their
// signer, and are denied under the gateway-built policy. Before, Hallmark's
// statement parser refused both.
func TestCosignSignedAndAttested(t *testing.T) {
	st := env.stack.State
	cosign, err := devstack.Tool(t.Context(), env.repo, "cosign", "cosign", os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	const signer = "https://thirdparty.example/builders/cosign"
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	tok, err := devstack.FetchTokenFor(t.Context(), st.Issuer, devstack.SigningAudience, "third-party", map[string]string{"builder_id": signer})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenFile, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	predicate := filepath.Join(dir, "predicate.json")
	if err := os.WriteFile(predicate, []byte(`{"reviewed":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "third-party.yaml")
	doc := fmt.Sprintf("apiVersion: hallmark.dev/v1\nkind: Policy\nmetadata: {name: third-party}\nspec:\n  signers: [{issuer: %q, subject: %q}]\n", st.Issuer, signer)
	if err := os.WriteFile(policy, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"sign", []string{"sign"}},
		{"attest", []string{"attest", "--predicate", predicate, "--type", "https://example.com/review/v1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pinned := pushRandom(t, st.Registry+"/e2e/cosign:"+tc.name)
			args := append(tc.args, "--identity-token", tokenFile, "--trusted-root", st.TrustedRoot,
				"--signing-config", st.SigningConfig, "--allow-http-registry", "--yes", pinned)
			cmd := exec.CommandContext(t.Context(), cosign, args...)
			cmd.Env = append(os.Environ(), "SIGSTORE_NO_CACHE=1", "TUF_ROOT="+filepath.Join(dir, "tuf"))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			stdout, stderr, err := runCLI(t, "verify", "--offline", "--policy", policy, pinned)
			if err != nil || !strings.HasPrefix(stdout, "ALLOWED") {
				t.Errorf("under the signer's policy: %v\n%s\n%s", err, stdout, stderr)
			}
			stdout, stderr, err = runCLI(t, "verify", "--offline", "--policy", env.stack.Policy, pinned)
			if code := exitCode(err); code != 1 {
				t.Errorf("under the gateway-built policy: exit %d, want 1 (denied)\n%s\n%s", code, stdout, stderr)
			}
		})
	}
}
