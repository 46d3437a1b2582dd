package vuln

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/package-url/packageurl-go"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Package is a package of an SBOM, as Hallmark's purls describe it
// (docs/sbom.md).
type Package struct {
	// PURL is the package URL as the SBOM has it.
	PURL string
	// Type, Namespace, Name and Version are the purl's. For rpm, Version
	// carries the epoch qualifier ("1:9.16.23-18.el9").
	Type, Namespace, Name, Version string
	// Source is the source package it was built from: the purl's upstream
	// qualifier (without "@version") for deb and apk, the source rpm's
	// name for rpm; empty when it is the package itself.
	Source string
	// SourceVersion is the source package's version when the upstream
	// qualifier gives one ("src@version": a binNMU, a package versioned
	// apart from its source), else empty.
	SourceVersion string
	// Distro is the purl's distro qualifier ("debian-12", "alpine-3.20.3").
	Distro string
}

// PackageFromPURL reads a package URL as Hallmark writes them into a
// Package. A purl that does not parse is an error wrapping
// hallmark.ErrInvalid.
func PackageFromPURL(purl string) (Package, error) {
	u, err := packageurl.FromString(purl)
	if err != nil {
		return Package{}, fmt.Errorf("%w: package url %q: %s", hallmark.ErrInvalid, hallmark.Clip(purl, 128), hallmark.Clip(err.Error(), 128))
	}
	q := u.Qualifiers.Map()
	p := Package{PURL: purl, Type: u.Type, Namespace: u.Namespace, Name: u.Name, Version: u.Version, Distro: q["distro"]}
	switch u.Type {
	case packageurl.TypeDebian, packageurl.TypeApk:
		if up := q["upstream"]; up != "" {
			p.Source, p.SourceVersion, _ = strings.Cut(up, "@")
		}
	case packageurl.TypeRPM:
		p.Source = srpmName(q["upstream"])
		if e := q["epoch"]; e != "" && e != "0" && p.Version != "" {
			p.Version = e + ":" + p.Version
		}
	}
	return p, nil
}

// srpmRE splits a source rpm's file name: name-version-release.src.rpm.
var srpmRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(.+)-[^-]+-[^-]+\.(?:src|nosrc)\.rpm$`) })

func srpmName(file string) string {
	if m := srpmRE().FindStringSubmatch(file); m != nil {
		return m[1]
	}
	return ""
}

// target is what a package is looked up as: the ecosystems whose
// advisories apply (the release's, then the unscoped one), the package
// name in them, and the version to compare.
type target struct {
	ecosystems []string // index keys, most specific first
	name       string   // index key
	version    string
	reason     string // why the package cannot be checked, when it cannot
}

// targetOf maps a package to its OSV ecosystem: deb to Debian or Ubuntu by
// the distro qualifier, keyed by source package and source version; apk to
// Alpine (or Wolfi, Chainguard) by origin; rpm to AlmaLinux and Rocky
// Linux; golang to Go (the toolchain is "stdlib"); the application
// ecosystems to theirs.
func targetOf(p Package) target {
	switch p.Type {
	case packageurl.TypeDebian, packageurl.TypeApk, packageurl.TypeRPM:
		return distroTarget(p)
	case packageurl.TypeGolang:
		return goTarget(p)
	}
	eco, ok := appEcosystems[p.Type]
	if !ok {
		return target{reason: fmt.Sprintf("no OSV ecosystem for purl type %q", hallmark.Clip(p.Type, 32))}
	}
	name := p.Name
	switch p.Type {
	case packageurl.TypeNPM, packageurl.TypeComposer:
		if p.Namespace != "" {
			name = p.Namespace + "/" + p.Name
		}
	case packageurl.TypeMaven:
		name = p.Namespace + ":" + p.Name
	}
	return withVersion(target{ecosystems: []string{eco}, name: nameKey(eco, name)}, p.Version)
}

// appEcosystems maps purl types to OSV ecosystems.
var appEcosystems = map[string]string{
	packageurl.TypePyPi:     "PyPI",
	packageurl.TypeNPM:      "npm",
	packageurl.TypeMaven:    "Maven",
	packageurl.TypeGem:      "RubyGems",
	packageurl.TypeComposer: "Packagist",
	packageurl.TypeNuget:    "NuGet",
	packageurl.TypeCargo:    "crates.io",
}

func withVersion(t target, v string) target {
	if v == "" {
		t.reason = "no version"
	}
	t.version = v
	return t
}

// distroTarget maps deb, apk and rpm packages by the distro qualifier
// ("debian-12", "ubuntu-22.04", "alpine-3.20.3", "almalinux-9.4").
func distroTarget(p Package) target {
	id, release, _ := strings.Cut(p.Distro, "-")
	name, ver := p.Name, p.Version
	if p.Source != "" {
		name = p.Source
	}
	if p.SourceVersion != "" {
		ver = p.SourceVersion
	}
	var ecos []string
	switch {
	case p.Type == packageurl.TypeDebian && id == "debian" && release != "":
		major, _, _ := strings.Cut(release, ".")
		ecos = []string{"Debian:" + major, "Debian"}
	case p.Type == packageurl.TypeDebian && id == "ubuntu" && release != "":
		ecos = []string{"Ubuntu:" + release}
	case p.Type == packageurl.TypeApk && id == "alpine" && release != "":
		major, rest, _ := strings.Cut(release, ".")
		minor, _, _ := strings.Cut(rest, ".")
		ecos = []string{"Alpine:v" + major + "." + minor}
	case p.Type == packageurl.TypeApk && (id == "wolfi" || id == "chainguard") && release == "":
		ecos = []string{map[string]string{"wolfi": "Wolfi", "chainguard": "Chainguard"}[id]}
	case p.Type == packageurl.TypeRPM && (id == "almalinux" || id == "rocky") && release != "":
		eco := map[string]string{"almalinux": "AlmaLinux", "rocky": "Rocky Linux"}[id]
		major, _, _ := strings.Cut(release, ".")
		ecos = []string{eco + ":" + major, eco}
		ver = p.Version // the source rpm's name has no epoch
	default:
		return target{reason: fmt.Sprintf("no OSV ecosystem for %s packages of distro %q", p.Type, hallmark.Clip(p.Distro, 32))}
	}
	return withVersion(target{ecosystems: ecos, name: name}, ver)
}

// goTarget maps a Go module or the standard library. Versions lose their
// "v" (OSV writes none); the toolchain's "go1.22.3" is "1.22.3", as
// govulncheck converts it; a module without a version ("(devel)": built
// from a local directory) cannot be checked. Pseudo-versions are SemVer
// pre-releases and are compared as such, as govulncheck does.
func goTarget(p Package) target {
	path := p.Name
	if p.Namespace != "" {
		path = p.Namespace + "/" + p.Name
	}
	t := target{ecosystems: []string{"Go"}, name: nameKey("Go", path)}
	v := p.Version
	switch {
	case v == "" || v == "(devel)":
		t.reason = "a Go module built from a local directory, (devel), has no version to check"
		return t
	case path == "stdlib" && strings.HasPrefix(v, "go"):
		sv, ok := goTagToSemver(v)
		if !ok {
			t.reason = fmt.Sprintf("Go toolchain version %q is not a release", hallmark.Clip(v, 64))
			return t
		}
		v = sv
	case path == "stdlib" && strings.HasPrefix(v, "devel"):
		t.reason = fmt.Sprintf("Go toolchain version %q is not a release", hallmark.Clip(v, 64))
		return t
	}
	t.version = strings.TrimPrefix(v, "v")
	return t
}

// goTagRE matches Go release tags: go1.22, go1.22.3, go1.21rc2, go1.19beta1.
var goTagRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^go(\d+\.\d+)(\.\d+)?(?:(beta|rc)(\d+))?$`) })

// goTagToSemver converts a Go release tag to the version OSV uses, as
// golang.org/x/vuln does: go1.22 is 1.22.0, go1.21rc2 is 1.21.0-rc.2.
// Anything after a space ("go1.22.3 X:boringcrypto") is dropped.
func goTagToSemver(tag string) (string, bool) {
	if f := strings.Fields(tag); len(f) > 0 {
		tag = f[0]
	}
	if tag == "go1" {
		return "1.0.0", true
	}
	m := goTagRE().FindStringSubmatch(tag)
	if m == nil {
		return "", false
	}
	v := m[1] + m[2]
	if m[2] == "" {
		v += ".0"
	}
	if m[3] != "" {
		v += "-" + m[3] + "." + m[4]
	}
	return v, true
}
