package sbom

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzCycloneDX converts whatever Parse accepts (a verified SBOM is
// trusted only as far as its signer): no panic, every package a component,
// and a graph that lists each package once.
func FuzzCycloneDX(f *testing.F) {
	for _, name := range cdxFixtures {
		data, err := os.ReadFile(filepath.Join("testdata", "golden", name+".spdx.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		if err != nil {
			return
		}
		bom, err := doc.CycloneDX()
		if err != nil {
			t.Fatalf("parsed document does not convert: %v", err)
		}
		if _, err := EncodeCycloneDX(bom); err != nil {
			t.Fatalf("encode: %v", err)
		}
		n := 0
		if bom.Components != nil {
			n = len(*bom.Components)
		}
		listed := 0
		for _, d := range *bom.Dependencies {
			if d.Dependencies != nil {
				listed += len(*d.Dependencies)
			}
		}
		if n != len(doc.Packages()) || listed != n {
			t.Fatalf("%d packages, %d components, %d in the graph", len(doc.Packages()), n, listed)
		}
	})
}
