package vuln

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/vuln/osv"
)

// debianImage reads the packages of a real Debian 12 host, the dpkg status
// file attest/sbom's tests catalog (726 installed packages), and writes
// their purls as attest/sbom does.
func debianImage(tb testing.TB) []Package {
	tb.Helper()
	f, err := os.Open(filepath.Join("..", "attest", "sbom", "testdata", "debian12", "status.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var pkgs []Package
	var name, version, arch, source, status string
	flush := func() {
		if name != "" && version != "" && strings.HasSuffix(status, " installed") {
			src, srcVersion, _ := strings.Cut(source, " ")
			srcVersion = strings.Trim(srcVersion, "()")
			q := []string{"arch", arch, "distro", "debian-12"}
			switch {
			case src != "" && srcVersion != "" && srcVersion != version:
				q = append(q, "upstream", src+"@"+srcVersion)
			case src != "" && src != name:
				q = append(q, "upstream", src)
			}
			pkgs = append(pkgs, pkg(tb, purl("deb", "debian", name, version, q...)))
		}
		name, version, arch, source, status = "", "", "", "", ""
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			flush()
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok || strings.HasPrefix(line, " ") {
			continue
		}
		switch k {
		case "Package":
			name = v
		case "Version":
			version = v
		case "Architecture":
			arch = v
		case "Source":
			source = v
		case "Status":
			status = v
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return pkgs
}

// debianAdvisories generates a Debian advisory set of osv.dev's size and
// shape: n DEBIAN-CVE records, each with an entry for Debian 11, 12 and 13
// (ECOSYSTEM ranges from "0" to a fixed version, or unfixed), and n/8 DSA
// records naming up to five CVEs upstream. Source packages are drawn with
// a heavy head, as real CVEs cluster on linux, chromium, firefox-esr, and
// a long tail of 6,000 source packages, the image's own spread among them
// (about as many as Debian has with CVEs). For the image's sources, 70% of
// the fixes predate the installed version, 10% come after it and 20% are
// missing.
func debianAdvisories(pkgs []Package, n int) []osv.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	installed := map[string]string{}
	var sources []string
	for _, p := range pkgs {
		name, ver := p.Name, p.Version
		if p.Source != "" {
			name = p.Source
		}
		if p.SourceVersion != "" {
			ver = p.SourceVersion
		}
		if _, ok := installed[name]; !ok {
			sources = append(sources, name)
		}
		installed[name] = ver
	}
	tail := slices.Clone(sources)
	for i := range 6000 - len(sources) {
		tail = append(tail, fmt.Sprintf("src%04d", i))
	}
	rng.Shuffle(len(tail), func(i, j int) { tail[i], tail[j] = tail[j], tail[i] })
	universe := append([]string{"linux", "chromium", "firefox-esr", "thunderbird", "imagemagick"}, tail...)
	zipf := rand.NewZipf(rng, 1.05, 8, uint64(len(universe)-1))
	modified := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	records := make([]osv.Record, 0, n+n/8)
	for i := range n {
		src := universe[zipf.Uint64()]
		id := fmt.Sprintf("DEBIAN-CVE-%d-%d", 2000+i%26, 10000+i)
		r := osv.Record{ID: id, Modified: modified, Upstream: []string{strings.TrimPrefix(id, "DEBIAN-")},
			Summary: "a vulnerability in " + src}
		for _, rel := range []string{"Debian:11", "Debian:12", "Debian:13"} {
			events := []osv.Event{{Kind: osv.Introduced, Version: "0"}}
			if fix := fixedVersion(rng, installed[src]); fix != "" {
				events = append(events, osv.Event{Kind: osv.Fixed, Version: fix})
			}
			r.Affected = append(r.Affected, osv.Affected{Ecosystem: rel, Name: src,
				Ranges: []osv.Range{{Type: osv.RangeEcosystem, Events: events}}})
		}
		records = append(records, r)
	}
	for i := range n / 8 {
		src := universe[zipf.Uint64()]
		r := osv.Record{ID: fmt.Sprintf("DSA-%d-1", 1000+i), Modified: modified, Summary: src + " - security update"}
		for k := range 1 + rng.IntN(5) {
			r.Upstream = append(r.Upstream, fmt.Sprintf("CVE-2024-%d", 20000+i*5+k))
		}
		fix := fixedVersion(rng, installed[src])
		if fix == "" {
			fix = "1.0-1"
		}
		r.Affected = []osv.Affected{{Ecosystem: "Debian:12", Name: src, Ranges: []osv.Range{{Type: osv.RangeEcosystem,
			Events: []osv.Event{{Kind: osv.Introduced, Version: "0"}, {Kind: osv.Fixed, Version: fix}}}}}}
		records = append(records, r)
	}
	return records
}

// fixedVersion returns a fixed version before the installed one (70%),
// after it (10%) or none (20%); for a package not installed, a plausible
// version.
func fixedVersion(rng *rand.Rand, installed string) string {
	roll := rng.IntN(10)
	switch {
	case roll < 2:
		return ""
	case installed == "":
		return fmt.Sprintf("%d.%d.%d-%d+deb12u%d", rng.IntN(10), rng.IntN(30), rng.IntN(20), 1+rng.IntN(5), 1+rng.IntN(9))
	case roll == 9:
		return installed + "+deb12u" + strconv.Itoa(1+rng.IntN(9))
	}
	// Before: the installed upstream version with its last number lowered,
	// or a pre-release of it.
	epoch, rest, ok := strings.Cut(installed, ":")
	if !ok {
		epoch, rest = "", installed
	} else {
		epoch += ":"
	}
	up, _, _ := strings.Cut(rest, "-")
	for i := len(up) - 1; i >= 0; i-- {
		if up[i] >= '1' && up[i] <= '9' && (i+1 == len(up) || up[i+1] < '0' || up[i+1] > '9') {
			return epoch + up[:i] + string(up[i]-1) + up[i+1:] + "-1"
		}
	}
	return epoch + up + "~rc1-1"
}
