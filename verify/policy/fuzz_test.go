package policy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hallmark-dev/hallmark"
)

// FuzzLoad checks that loading never panics, that every error is classified
// as invalid or too large, and that a loaded policy evaluates and hashes
// deterministically.
func FuzzLoad(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{
		doc(""),
		rulesDoc(`pod.metadata.name != "" && [1].all(pod, pod > 0)`, `sbom.packages.exists(p, p.name == "x")`),
		doc("  admission: {mode: warn, disable: [noPrivileged], allowCapabilities: [CAP_NET_RAW]}\n"),
		doc("  trustedRoot: ../root.json\n  builders: [a]\n  requirePredicateTypes: [b]\n"),
		"a: &a [1, *a]\n",
		"{}",
		"---\n...\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Load(data, WithMaxBytes(64<<10))
		if err != nil {
			if !errors.Is(err, hallmark.ErrInvalid) && !errors.Is(err, hallmark.ErrTooLarge) {
				t.Fatalf("error %q is neither ErrInvalid nor ErrTooLarge", err)
			}
			return
		}
		again, err := Load(data, WithMaxBytes(64<<10))
		if err != nil {
			t.Fatalf("second Load: %v", err)
		}
		if p.Hash() != again.Hash() {
			t.Fatalf("Hash differs between loads: %s, %s", p.Hash(), again.Hash())
		}
		for _, r := range append(p.Evaluate(t.Context(), Input{}), p.EvaluatePod(t.Context(), Input{Pod: map[string]any{}})...) {
			if r.Name == "" {
				t.Fatalf("result without a name: %+v", r)
			}
		}
	})
}
