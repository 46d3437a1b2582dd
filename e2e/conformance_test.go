//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/devstack"
)

// TestConformanceRoundTrip signs with `hallmark conformance sign-bundle`
// through the dev stack's real Fulcio, Rekor v2 and timestamp authority
// (the stack's signing config and trusted root, as the sigstore-conformance
// suite passes them) and verifies the bundles with `hallmark conformance
// verify-bundle`: a plain file and an in-toto statement, by path and by
// digest, while a tampered artifact, another digest and another identity
// fail.
func TestConformanceRoundTrip(t *testing.T) {
	st := env.stack.State
	const builder = "https://hallmark.dev/builders/e2e-conformance"
	tok, err := env.stack.OIDC().Mint("e2e-conformance", devstack.SigningAudience, time.Hour, map[string]any{"builder_id": builder})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	artifact := []byte("hallmark conformance e2e " + time.Now().Format(time.RFC3339Nano) + "\n")
	digest := hallmark.SHA256(artifact)
	file := write("a.txt", artifact)
	tampered := write("tampered.txt", append([]byte("x"), artifact...))
	statement := write("statement.json", fmt.Appendf(nil,
		`{"_type":%q,"subject":[{"name":"a.txt","digest":{"sha256":%q}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`,
		hallmark.StatementTypeV1, digest.Hex()))

	// exitCode runs `hallmark conformance ARGS…` and returns its exit code
	// and stderr.
	exitCode := func(t *testing.T, args ...string) (int, string) {
		t.Helper()
		_, stderr, err := runCLI(t, append([]string{"conformance"}, args...)...)
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, stderr
		case errors.As(err, &ee):
			return ee.ExitCode(), stderr
		}
		t.Fatalf("run hallmark conformance %s: %v", args[0], err)
		return 0, ""
	}

	for _, tc := range []struct {
		name   string
		inToto bool
		input  string
	}{
		{"message signature", false, file},
		{"in-toto", true, statement},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bundle := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".sigstore.json")
			args := []string{"sign-bundle"}
			if tc.inToto {
				args = append(args, "--in-toto")
			}
			args = append(args, "--identity-token", tok, "--bundle", bundle, "--trusted-root", st.TrustedRoot, "--signing-config", st.SigningConfig, tc.input)
			code, stderr := exitCode(t, args...)
			if strings.Contains(stderr, tok) {
				t.Fatal("sign-bundle printed the token")
			}
			if code != 0 {
				t.Fatalf("sign-bundle: exit %d: %s", code, stderr)
			}
			checkConformanceBundle(t, bundle, tc.inToto)

			verifyArgs := func(issuer, san, fileOrDigest string) []string {
				return []string{"verify-bundle", "--bundle", bundle, "--certificate-identity", san, "--certificate-oidc-issuer", issuer,
					"--trusted-root", st.TrustedRoot, fileOrDigest}
			}
			for _, ok := range []string{file, digest.String()} {
				if code, stderr := exitCode(t, verifyArgs(st.Issuer, builder, ok)...); code != 0 {
					t.Errorf("verify-bundle %s: exit %d: %s", ok, code, stderr)
				}
			}
			for _, bad := range []struct{ issuer, san, fileOrDigest, why string }{
				{st.Issuer, builder, tampered, "does not verify"},
				{st.Issuer, builder, hallmark.SHA256([]byte("other")).String(), "does not verify"},
				{st.Issuer, devstack.BuilderID, file, "not an allowed signer"},
				{"https://token.actions.githubusercontent.com", builder, file, "not an allowed signer"},
			} {
				code, stderr := exitCode(t, verifyArgs(bad.issuer, bad.san, bad.fileOrDigest)...)
				if code != 1 || !strings.Contains(stderr, bad.why) || strings.Count(stderr, "\n") != 1 {
					t.Errorf("verify-bundle %s as %s from %s: exit %d, stderr %q; want exit 1 and one line with %q",
						bad.fileOrDigest, bad.san, bad.issuer, code, stderr, bad.why)
				}
			}
		})
	}
}

// checkConformanceBundle checks the shape of a bundle sign-bundle wrote for
// the dev stack: v0.3, a Rekor v2 (hashedrekord 0.0.2) entry, an RFC 3161
// timestamp, and a DSSE envelope exactly for in-toto.
func checkConformanceBundle(t *testing.T, path string, inToto bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		MediaType            string `json:"mediaType"`
		VerificationMaterial struct {
			TlogEntries []struct {
				KindVersion struct{ Kind, Version string } `json:"kindVersion"`
			} `json:"tlogEntries"`
			TimestampVerificationData struct {
				RFC3161Timestamps []json.RawMessage `json:"rfc3161Timestamps"`
			} `json:"timestampVerificationData"`
		} `json:"verificationMaterial"`
		DSSEEnvelope *struct {
			PayloadType string `json:"payloadType"`
		} `json:"dsseEnvelope"`
		MessageSignature *json.RawMessage `json:"messageSignature"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	vm := b.VerificationMaterial
	if b.MediaType != hallmark.MediaTypeBundleV03 || len(vm.TlogEntries) != 1 || vm.TlogEntries[0].KindVersion.Version != "0.0.2" ||
		len(vm.TimestampVerificationData.RFC3161Timestamps) == 0 {
		t.Errorf("bundle %s: want v0.3 with one Rekor v2 entry and a timestamp", data)
	}
	switch {
	case inToto && (b.DSSEEnvelope == nil || b.DSSEEnvelope.PayloadType != hallmark.PayloadTypeInToto):
		t.Errorf("in-toto bundle has no in-toto DSSE envelope: %s", data)
	case !inToto && b.MessageSignature == nil:
		t.Errorf("bundle of a file has no message signature: %s", data)
	}
}
