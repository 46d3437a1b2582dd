package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hallmark-dev/hallmark/attest/sbom"
)

// TestSBOMPURLs: the light walk of an SBOM finds exactly the packages
// attest/sbom reads from the SBOMs Hallmark writes, without the image
// itself.
func TestSBOMPURLs(t *testing.T) {
	for _, name := range []string{"alpine", "contain", "distroless"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "attest", "sbom", "testdata", "golden", name+".spdx.json"))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := sbom.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, p := range doc.Packages() {
				want = append(want, p.PURL)
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			got := sbomPURLs(m)
			slices.Sort(got)
			slices.Sort(want)
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Errorf("purls\n got %q\nwant %q", got, want)
			}
		})
	}
	if got := sbomPURLs(map[string]any{"packages": "not a list", "relationships": []any{1, "x"}}); got != nil {
		t.Errorf("malformed document: %q", got)
	}
	if got := sbomPURLs(nil); got != nil {
		t.Errorf("no document: %q", got)
	}
}
