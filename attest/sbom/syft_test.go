package sbom

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/package-url/packageurl-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// TestCompareWithSyft catalogs each fixture image with Hallmark and with
// syft (as an OCI layout, syft oci-dir:PATH -o spdx-json) and compares the
// package sets of the ecosystems both catalog (comparedTypes), keyed by purl
// type, namespace, name and version, and the complete purls. It also times
// both. It needs HALLMARK_SYFT to name a syft binary:
// tools/syft/compare.sh (make sbom-compare) builds the pinned syft, sets it
// and appends the table to HALLMARK_SYFT_REPORT if set. Without it the test
// skips, except under CI, where it fails.
func TestCompareWithSyft(t *testing.T) {
	syft := os.Getenv("HALLMARK_SYFT")
	if syft == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("HALLMARK_SYFT is not set in CI; make sbom-compare builds syft and sets it")
		}
		t.Skip("HALLMARK_SYFT is not set; run tools/syft/compare.sh")
	}
	const runs = 3
	images := fixtureImages(t)
	var report strings.Builder
	fmt.Fprintf(&report, "| image | syft packages | Hallmark packages | recall (Hallmark ∩ syft / syft) | only Hallmark | identical purls | syft time | Hallmark time | speed-up |\n|---|---|---|---|---|---|---|---|---|\n")
	names := []string{"debian", "distroless", "alpine", "rpm", "all", "ruby", "php", "java", "python", "npm", "dotnet", "rust", "r", "arch", "lua", "gentoo", "homebrew"}
	if only := os.Getenv("HALLMARK_SYFT_IMAGES"); only != "" {
		names = strings.Split(only, ",")
	}
	for _, name := range names {
		img := images[name]
		dir := filepath.Join(t.TempDir(), name)
		p, err := layout.Write(dir, empty.Index)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AppendImage(img); err != nil {
			t.Fatal(err)
		}
		// Hallmark reads the same layout from disk, as syft does.
		idx, err := p.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		onDisk, err := p.Image(m.Manifests[0].Digest)
		if err != nil {
			t.Fatal(err)
		}
		var ours *Document
		oursTime := timeBest(runs, func() {
			if ours, err = Generate(t.Context(), onDisk); err != nil {
				t.Fatal(err)
			}
		})
		var out []byte
		syftTime := timeBest(runs, func() {
			cmd := exec.CommandContext(t.Context(), syft, "oci-dir:"+dir, "-o", "spdx-json", "-q")
			cmd.Env = append(os.Environ(), "SYFT_CHECK_FOR_APP_UPDATE=false")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if out, err = cmd.Output(); err != nil {
				t.Fatalf("syft: %v\n%s", err, stderr.Bytes())
			}
		})
		theirDoc, err := spdxjson.Read(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		oursJSON, _ := ours.JSON()
		ourDoc, err := spdxjson.Read(bytes.NewReader(oursJSON))
		if err != nil {
			t.Fatal(err)
		}
		mine, theirs := purlKeys(ourDoc), purlKeys(theirDoc)
		var both, onlyMine, onlyTheirs []string
		for k := range theirs {
			if mine[k] {
				both = append(both, k)
			} else {
				onlyTheirs = append(onlyTheirs, k)
			}
		}
		for k := range mine {
			if !theirs[k] {
				onlyMine = append(onlyMine, k)
			}
		}
		slices.Sort(onlyMine)
		slices.Sort(onlyTheirs)
		recall := 1.0
		if len(theirs) > 0 {
			recall = float64(len(both)) / float64(len(theirs))
		}
		same := 0
		fullMine := purlStrings(ourDoc)
		for p := range purlStrings(theirDoc) {
			if fullMine[p] {
				same++
			}
		}
		fmt.Fprintf(&report, "| %s | %d | %d | %.3f | %d | %d | %v | %v | %.0f× |\n", name, len(theirs), len(mine), recall, len(onlyMine), same,
			syftTime.Round(time.Millisecond), oursTime.Round(100*time.Microsecond), float64(syftTime)/float64(oursTime))
		if len(onlyTheirs) > 0 {
			t.Errorf("%s: syft found %d packages that Hallmark missed: %q", name, len(onlyTheirs), onlyTheirs)
		}
		if len(onlyMine) > 0 {
			t.Logf("%s: only Hallmark found %d packages: %q", name, len(onlyMine), firstN(onlyMine, 20))
		}
	}
	t.Logf("\n%s", report.String())
	if path := os.Getenv("HALLMARK_SYFT_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(report.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// comparedTypes are the purl types of the ecosystems both tools catalog.
var comparedTypes = []string{"deb", "apk", "rpm", "alpm", "golang", "gem", "composer", "pear", "maven", "pypi", "npm", "nuget", "cargo", "cran", "luarocks", "ebuild", "brew"}

// purlKeys lists "type/namespace/name@version" of the packages of the
// types the comparison counts (comparedTypes).
func purlKeys(doc *v2_3.Document) map[string]bool {
	keys := map[string]bool{}
	for _, p := range doc.Packages {
		for _, r := range p.PackageExternalReferences {
			if r.RefType != "purl" {
				continue
			}
			u, err := packageurl.FromString(r.Locator)
			if err != nil {
				continue
			}
			if slices.Contains(comparedTypes, u.Type) {
				keys[u.Type+"/"+u.Namespace+"/"+u.Name+"@"+u.Version] = true
			}
		}
	}
	return keys
}

// purlStrings lists the canonical purls (qualifiers included) of the
// packages of the types the comparison counts (comparedTypes).
func purlStrings(doc *v2_3.Document) map[string]bool {
	out := map[string]bool{}
	for _, p := range doc.Packages {
		for _, r := range p.PackageExternalReferences {
			if u, err := packageurl.FromString(r.Locator); err == nil && r.RefType == "purl" && slices.Contains(comparedTypes, u.Type) {
				out[u.ToString()] = true
			}
		}
	}
	return out
}

// timeBest runs f n times and returns the fastest run.
func timeBest(n int, f func()) time.Duration {
	best := time.Duration(1<<63 - 1)
	for range n {
		start := time.Now()
		f()
		best = min(best, time.Since(start))
	}
	return best
}

func firstN(s []string, n int) []string { return s[:min(len(s), n)] }
