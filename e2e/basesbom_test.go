//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

// TestBaseSBOMReuse builds examples/hello, then an image FROM it: the second
// SBOM copies the base's verified packages (marked as such) instead of
// cataloging the base layers again, and still lists them all.
func TestBaseSBOMReuse(t *testing.T) {
	st := env.stack.State
	stdout, stderr, err := runCLI(t, helloBuild("--progress", "plain", "-t", st.Registry+"/e2e/base-app:v1")...)
	if err != nil {
		t.Fatalf("build base: %v\n%s", err, stderr)
	}
	base := strings.TrimSpace(stdout)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+base+"\nCOPY note.txt /etc/note.txt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "note.txt"), []byte("derived\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err = runCLI(t, "build", "--progress", "plain", "-t", st.Registry+"/e2e/derived:v1", dir)
	if err != nil {
		t.Fatalf("build derived: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "reusing the verified SBOM of base "+base) {
		t.Errorf("the attest step did not reuse the base SBOM:\n%s", stderr)
	}
	baseSBOM := verifiedStatements(t, base)[hallmark.PredicateSPDX]
	derivedSBOM := verifiedStatements(t, strings.TrimSpace(stdout))[hallmark.PredicateSPDX]
	if baseSBOM == nil || derivedSBOM == nil {
		t.Fatal("missing SBOM")
	}
	derived := string(derivedSBOM.Predicate)
	if !strings.Contains(derived, "from verified base SBOM") || !strings.Contains(derived, "stdlib") {
		t.Errorf("derived SBOM does not carry the base's packages marked as reused:\n%.2000s", derived)
	}
}
