package vulncompare

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/package-url/packageurl-go"

	"github.com/hallmark-dev/hallmark/attest/sbom"
	"github.com/hallmark-dev/hallmark/vuln"
	"github.com/hallmark-dev/hallmark/vuln/osv"
)

// TestCompareWithScalibr scans each test image with Hallmark (attest/sbom
// catalogs it, vuln matches the purls, as a build's scan does) and with
// osv-scalibr (its extractors and its offline matcher, vulnmatch/osvlocal,
// run by tools/osv-scalibr/cmd/scalibr-scan) against the same OSV
// archives, and compares the findings as (advisory id, package) pairs.
// It fails when scalibr reports a finding Hallmark does not, or when an
// image expected to be vulnerable has no finding at all. It needs
// HALLMARK_SCALIBR to name the scalibr-scan binary:
// tools/osv-scalibr/compare.sh (make vuln-compare) builds the pinned
// scalibr, sets it and writes the table to HALLMARK_SCALIBR_REPORT if set.
// Without it the test skips, except under CI, where it fails.
func TestCompareWithScalibr(t *testing.T) {
	scalibr := os.Getenv("HALLMARK_SCALIBR")
	if scalibr == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("HALLMARK_SCALIBR is not set in CI; make vuln-compare builds osv-scalibr and sets it")
		}
		t.Skip("HALLMARK_SCALIBR is not set; run tools/osv-scalibr/compare.sh")
	}
	root := repoRoot(t)
	osvDir, archives := osvArchives(t, root)
	loadStart := time.Now()
	db := vuln.New()
	for _, a := range archives {
		recs, info, err := osv.Import(t.Context(), a)
		if err != nil {
			t.Fatal(err)
		}
		db = db.Add(info, recs)
	}
	t.Logf("Hallmark: %d advisories loaded in %v", db.Len(), time.Since(loadStart).Round(time.Millisecond))

	var report strings.Builder
	fmt.Fprintf(&report, "| image | packages (Hallmark / scalibr) | Hallmark findings | scalibr findings | both | scalibr's merged into a Hallmark alias | only Hallmark | only scalibr | Hallmark time | scalibr time |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, im := range testImages(t, root) {
		dir := filepath.Join(t.TempDir(), im.name)
		onDisk := writeLayout(t, dir, im.img)

		start := time.Now()
		doc, err := sbom.Generate(t.Context(), onDisk)
		if err != nil {
			t.Fatal(err)
		}
		var pkgs []vuln.Package
		for _, p := range doc.Packages() {
			vp, err := vuln.PackageFromPURL(p.PURL)
			if err != nil {
				t.Fatalf("%s: %v", im.name, err)
			}
			pkgs = append(pkgs, vp)
		}
		rep := db.Scan(pkgs)
		oursTime := time.Since(start)
		// Hallmark merges a package's findings whose advisories are
		// aliases of each other (GO-2024-3321 stands for
		// GHSA-v778-237x-gjrc): a finding covers its id and its aliases.
		ours := map[string]bool{}
		covers := map[string]string{} // key of an id or alias → the finding's key
		for _, f := range rep.Findings {
			k := key(f.ID, f.Package)
			ours[k] = true
			for _, id := range append([]string{f.ID}, f.Aliases...) {
				covers[key(id, f.Package)] = k
			}
		}

		start = time.Now()
		cmd := exec.CommandContext(t.Context(), scalibr, "-image", dir, "-osv", osvDir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: scalibr-scan: %v\n%s", im.name, err, stderr.Bytes())
		}
		theirTime := time.Since(start)
		var res scalibrResult
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("%s: %v", im.name, err)
		}
		t.Logf("%s: %s cataloged %d packages, Hallmark %d", im.name, res.Scanner, len(res.Packages), len(pkgs))
		if os.Getenv("HALLMARK_SCALIBR_DEBUG") != "" {
			t.Logf("%s: scalibr: %s\n%s", im.name, out, stderr.Bytes())
		}
		theirs := map[string]bool{}
		for _, f := range res.Findings {
			theirs[key(f.ID, f.PURL)] = true
		}

		var both, merged, onlyOurs, onlyTheirs []string
		matched := map[string]bool{} // Hallmark's findings scalibr also reports
		for k := range theirs {
			switch c, ok := covers[k]; {
			case ours[k]:
				both = append(both, k)
				matched[k] = true
			case ok:
				merged = append(merged, k+" (as "+strings.Fields(c)[0]+")")
				matched[c] = true
			default:
				onlyTheirs = append(onlyTheirs, k)
			}
		}
		for k := range ours {
			if !matched[k] {
				onlyOurs = append(onlyOurs, k)
			}
		}
		slices.Sort(merged)
		slices.Sort(both)
		slices.Sort(onlyOurs)
		slices.Sort(onlyTheirs)
		fmt.Fprintf(&report, "| %s | %d / %d | %d | %d | %d | %d | %d | %d | %v | %v |\n", im.name, len(pkgs), len(res.Packages), len(ours), len(theirs), len(both), len(merged), len(onlyOurs), len(onlyTheirs),
			oursTime.Round(100*time.Microsecond), theirTime.Round(time.Millisecond))
		t.Logf("%s: both: %q", im.name, both)
		if len(merged) > 0 {
			t.Logf("%s: merged as aliases: %q", im.name, merged)
		}
		if len(onlyTheirs) > 0 {
			t.Errorf("%s: scalibr found %d findings Hallmark missed: %q", im.name, len(onlyTheirs), onlyTheirs)
		}
		if len(onlyOurs) > 0 {
			t.Logf("%s: only Hallmark found %d: %q", im.name, len(onlyOurs), onlyOurs)
		}
		for _, want := range im.want {
			if !ours[want] {
				t.Errorf("%s: Hallmark did not report %s", im.name, want)
			}
		}
		if im.vulnerable && len(both) == 0 {
			t.Errorf("%s: no finding both report; the comparison compared nothing", im.name)
		}
	}
	t.Logf("\n%s", report.String())
	if path := os.Getenv("HALLMARK_SCALIBR_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(report.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// scalibrResult is scalibr-scan's output.
type scalibrResult struct {
	Scanner  string `json:"scanner"`
	Packages []struct {
		PURL string `json:"purl"`
	} `json:"packages"`
	Findings []struct {
		ID   string `json:"id"`
		PURL string `json:"purl"`
	} `json:"findings"`
}

// key names a finding as "ID type/namespace/name@version", the purl
// without qualifiers: scalibr and Hallmark qualify purls differently
// (arch, distro). The Go toolchain is "stdlib" at a semver version
// (scalibr's purl says pkg:golang/stdlib@go1.x or @v1.x), and a Go
// module's version has its "v" (scalibr's purls drop it).
func key(id, purl string) string {
	u, err := packageurl.FromString(purl)
	if err != nil {
		return id + " " + purl
	}
	name, ver := u.Name, u.Version
	if u.Type == "golang" && u.Namespace == "" && (name == "stdlib" || name == "go") {
		name = "stdlib"
		ver = strings.TrimPrefix(ver, "go")
	}
	if u.Type == "golang" && ver != "" && !strings.HasPrefix(ver, "v") {
		ver = "v" + ver
	}
	ns := strings.ToLower(u.Namespace)
	if ns != "" {
		ns += "/"
	}
	return id + " " + u.Type + "/" + ns + name + "@" + ver
}

type testImage struct {
	name string
	img  v1.Image
	// vulnerable says the image has packages the test advisories affect:
	// both scanners must then agree on at least one finding.
	vulnerable bool
	// want are findings Hallmark must report (key's form).
	want []string
}

// testImages are the images compared: a Go binary linking vulnerable
// modules (replaced ones, a pseudo-version), the same claiming an old
// toolchain, Debian 12 as released (2023, before the
// test advisories' fixes) and an Alpine 3.17 openssl, and attest/sbom's
// debian and alpine fixtures (today's packages, the Go binary added to
// debian).
func testImages(t *testing.T, root string) []testImage {
	t.Helper()
	bin := readFile(t, goBinary(t))
	sbomData := filepath.Join(root, "attest", "sbom", "testdata")
	deb12 := func(status []byte) v1.Layer {
		return layer(t, map[string][]byte{
			"etc/os-release":      readFile(t, filepath.Join(sbomData, "debian12", "os-release")),
			"var/lib/dpkg/status": status,
		})
	}
	binLayer := layer(t, map[string][]byte{"usr/local/bin/vulnfixture": bin})
	// The same executable as an old toolchain's: its build info says
	// go1.22.0 (a string of the same length replaces this toolchain's
	// version), so the standard library is vulnerable too.
	oldGo := map[int]string{8: "go1.22.0", 9: "go1.22.10"}[len(runtime.Version())]
	if oldGo == "" || !bytes.Contains(bin, []byte(runtime.Version())) {
		t.Fatalf("cannot rewrite the Go version %s in the test executable", runtime.Version())
	}
	oldBin := bytes.ReplaceAll(bin, []byte(runtime.Version()), []byte(oldGo))
	return []testImage{
		{name: "go-binary", img: image(t, binLayer), vulnerable: true, want: []string{
			"GO-2024-3321 golang/golang.org/x/crypto@v0.30.0",
			"GO-2022-1059 golang/golang.org/x/text@v0.3.7",
			"GO-2022-0969 golang/golang.org/x/net@v0.0.0-20220127200216-cd36cc0744dd",
		}},
		{name: "go-binary (" + oldGo + ")", img: image(t, layer(t, map[string][]byte{"usr/local/bin/vulnfixture": oldBin})), vulnerable: true, want: []string{
			"GO-2024-2687 golang/stdlib@v" + strings.TrimPrefix(oldGo, "go"),
		}},
		{name: "debian-12.0", img: image(t, layer(t, map[string][]byte{
			"etc/os-release":      readFile(t, "testdata/debian12.0/os-release"),
			"var/lib/dpkg/status": readFile(t, "testdata/debian12.0/status"),
		})), vulnerable: true, want: []string{
			"DSA-5514-1 deb/debian/libc6@2.36-9",
			"DSA-5532-1 deb/debian/libssl3@3.0.9-1",
			"DSA-5621-1 deb/debian/bind9-libs@1:9.18.16-1~deb12u1",
			"DEBIAN-CVE-2005-2541 deb/debian/tar@1.34+dfsg-1.2",
		}},
		{name: "alpine-3.17", img: image(t, layer(t, map[string][]byte{
			"etc/os-release":       readFile(t, "testdata/alpine3.17/os-release"),
			"lib/apk/db/installed": readFile(t, "testdata/alpine3.17/installed"),
		})), vulnerable: true, want: []string{
			"ALPINE-CVE-2022-3996 apk/alpine/libcrypto3@3.0.7-r0",
			"ALPINE-CVE-2022-3996 apk/alpine/libssl3@3.0.7-r0",
		}},
		{name: "debian (sbom fixture)", img: image(t,
			deb12(gunzip(t, readFile(t, filepath.Join(sbomData, "debian12", "status.gz")))), binLayer),
			vulnerable: true},
		{name: "alpine (sbom fixture)", img: image(t, layer(t, map[string][]byte{
			"etc/os-release":       readFile(t, filepath.Join(sbomData, "alpine", "os-release")),
			"lib/apk/db/installed": readFile(t, filepath.Join(sbomData, "alpine", "installed")),
		}))},
	}
}

// osvArchives writes the OSV records both scanners read, as osv.dev
// exports them, under dir/osv-scalibr/<ecosystem>/all.zip (where
// scalibr's osvlocal looks): the Go vulnerability database with the two
// GitHub-reviewed Go records, and vuln's hand-written Debian and Alpine
// records. It returns dir and the archives.
func osvArchives(t *testing.T, root string) (string, []string) {
	t.Helper()
	shared := filepath.Join(root, "..", "shared", "testdata", "vulndb")
	if _, err := os.Stat(shared); err != nil {
		t.Fatalf("the shared advisories beside the repository are missing: %v", err)
	}
	dir := t.TempDir()
	var archives []string
	write := func(eco string, fill func(w *zip.Writer)) {
		p := filepath.Join(dir, "osv-scalibr", eco, "all.zip")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		fill(w)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		archives = append(archives, p)
	}
	addFiles := func(w *zip.Writer, paths []string) {
		for _, p := range paths {
			f, err := w.Create(filepath.Base(p))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(readFile(t, p)); err != nil {
				t.Fatal(err)
			}
		}
	}
	glob := func(pattern string) []string {
		m, err := filepath.Glob(pattern)
		if err != nil || len(m) == 0 {
			t.Fatalf("no files match %s (%v)", pattern, err)
		}
		return m
	}
	write("Go", func(w *zip.Writer) {
		zr, err := zip.OpenReader(filepath.Join(shared, "osv", "Go-all.zip"))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			if err := w.Copy(f); err != nil {
				t.Fatal(err)
			}
		}
		addFiles(w, glob(filepath.Join(shared, "ghsa", "*.json")))
	})
	write("Debian", func(w *zip.Writer) { addFiles(w, glob(filepath.Join(root, "vuln", "testdata", "debian", "*.json"))) })
	write("Alpine", func(w *zip.Writer) { addFiles(w, glob(filepath.Join(root, "vuln", "testdata", "alpine", "*.json"))) })
	return dir, archives
}

// goBinary builds testdata/gomod (golang.org/x/crypto v0.30.0 and
// golang.org/x/text v0.3.7, by a replace directive) with this toolchain.
func goBinary(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "vulnfixture")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = filepath.Join("testdata", "gomod")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// layer is one uncompressed layer holding files (mode 0755) and their
// parent directories.
func layer(t *testing.T, files map[string][]byte) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range files {
			if !yield(n) {
				return
			}
		}
	})
	dirs := map[string]bool{}
	for _, n := range names {
		for d := filepath.Dir(n); d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for _, d := range slices.Sorted(func(yield func(string) bool) {
		for d := range dirs {
			if !yield(d) {
				return
			}
		}
	}) {
		if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(files[n]))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// image stacks the layers, one history entry each (scalibr requires
// them).
func image(t *testing.T, layers ...v1.Layer) v1.Image {
	t.Helper()
	var adds []mutate.Addendum
	for _, l := range layers {
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "vulncompare"}})
	}
	img, err := mutate.Append(empty.Image, adds...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// writeLayout writes img as an OCI image layout at dir and returns it as
// read back from there, so both scanners read the same bytes.
func writeLayout(t *testing.T, dir string, img v1.Image) v1.Image {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
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
	return onDisk
}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
