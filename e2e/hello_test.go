//go:build e2e

package e2e

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
)

// helloBuild is the command line of `hallmark build` for examples/hello on
// the stack's bases, with flags.
func helloBuild(flags ...string) []string {
	st := env.stack.State
	args := append([]string{"build"}, flags...)
	return append(args, "--build-arg", "GOLANG_IMAGE="+st.GolangImage, "--build-arg", "BASE_IMAGE="+st.BaseImage,
		filepath.Join(env.repo, "examples", "hello"))
}

// checkHelloSBOM checks that doc is the SPDX 2.3 document of an image of
// examples/hello: it lists the Go standard library of the binary.
func checkHelloSBOM(t *testing.T, doc []byte) {
	t.Helper()
	var spdx struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name string `json:"name"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(doc, &spdx); err != nil {
		t.Fatalf("decode SBOM: %v\n%s", err, doc)
	}
	var names []string
	for _, p := range spdx.Packages {
		names = append(names, p.Name)
	}
	if spdx.SPDXVersion != "SPDX-2.3" || !slices.Contains(names, "stdlib") {
		t.Errorf("SBOM %s lists %v; want SPDX-2.3 with the Go stdlib of the hello binary", spdx.SPDXVersion, names)
	}
}
