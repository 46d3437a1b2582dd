package version

import (
	"errors"
	"strings"

	gem "github.com/aquasecurity/go-gem-version"
	npm "github.com/aquasecurity/go-npm-version/pkg"
	pep440 "github.com/aquasecurity/go-pep440-version"
	generic "github.com/aquasecurity/go-version/pkg/version"
	mvn "github.com/masahiro331/go-mvn-version"
	"golang.org/x/mod/semver"
)

// semverOrdering is SemVer 2.0 precedence (golang.org/x/mod/semver, which
// also accepts the shorthands "1" and "1.2"); build metadata is ignored.
var semverOrdering = &ordering[string]{
	name:  "semver",
	parse: parseSemVer,
	cmp:   semver.Compare,
}

// goOrdering is the Go module ordering: SemVer 2.0 with pseudo-versions
// (v0.0.0-20231016150651-428517fef5b9) as the pre-releases they are, and
// "+incompatible" as build metadata, exactly as the go command orders
// them. OSV writes Go versions without the "v"; both forms are accepted.
var goOrdering = &ordering[string]{
	name:  "go",
	parse: parseSemVer,
	cmp:   semver.Compare,
}

func parseSemVer(s string) (string, error) {
	if err := plain(s); err != nil {
		return "", err
	}
	if !strings.HasPrefix(s, "v") {
		s = "v" + s
	}
	if !semver.IsValid(s) {
		return "", errors.New("not a semantic version")
	}
	return s, nil
}

// pep440Ordering is PEP 440's (PyPI): epochs, pre-, post- and
// dev-releases, local versions.
var pep440Ordering = &ordering[pep440.Version]{
	name: "pep440",
	parse: func(s string) (pep440.Version, error) {
		if err := plain(s); err != nil {
			return pep440.Version{}, err
		}
		return pep440.Parse(s)
	},
	cmp: func(a, b pep440.Version) int { return a.Compare(b) },
}

// npmOrdering is node-semver's: SemVer 2.0, a leading "v" or "=" ignored
// as npm ignores it.
var npmOrdering = &ordering[npm.Version]{
	name: "npm",
	parse: func(s string) (npm.Version, error) {
		if err := plain(s); err != nil {
			return npm.Version{}, err
		}
		return npm.NewVersion(strings.TrimLeft(s, "v="))
	},
	cmp: func(a, b npm.Version) int { return a.Compare(b) },
}

// mavenOrdering is Maven's ComparableVersion: items separated by "." and
// "-", qualifiers alpha < beta < milestone < rc < snapshot < "" < sp.
var mavenOrdering = &ordering[mvn.Version]{
	name: "maven",
	parse: func(s string) (mvn.Version, error) {
		if err := plain(s); err != nil {
			return mvn.Version{}, err
		}
		return mvn.NewVersion(s)
	},
	cmp: func(a, b mvn.Version) int { return a.Compare(b) },
}

// gemOrdering is Gem::Version's: segments, a letter starting a
// pre-release.
var gemOrdering = &ordering[gem.Version]{
	name: "rubygems",
	parse: func(s string) (gem.Version, error) {
		if err := plain(s); err != nil {
			return gem.Version{}, err
		}
		return gem.NewVersion(s)
	},
	cmp: func(a, b gem.Version) int { return a.Compare(b) },
}

// nugetOrdering is aquasecurity/go-version's generic ordering (any number
// of numeric segments, missing ones zero, then SemVer pre-release
// precedence), which Trivy uses for NuGet, on the lowercased version:
// NuGet compares pre-release labels without case.
var nugetOrdering = &ordering[generic.Version]{
	name:  "nuget",
	parse: parseGenericLower,
	cmp:   func(a, b generic.Version) int { return a.Compare(b) },
}

// packagistOrdering is the same generic ordering, which Trivy uses for
// Composer, on the lowercased version without a leading "v". Composer
// itself orders stability flags dev < alpha < beta < RC < stable < patch;
// here "-dev" sorts after "-beta" and a "-p1"/"-patch1" patch release
// before its release (docs/vulnerabilities.md lists the deviations).
var packagistOrdering = &ordering[generic.Version]{
	name: "packagist",
	parse: func(s string) (generic.Version, error) {
		return parseGenericLower(strings.TrimPrefix(strings.TrimPrefix(s, "v"), "V"))
	},
	cmp: func(a, b generic.Version) int { return a.Compare(b) },
}

func parseGenericLower(s string) (generic.Version, error) {
	if err := plain(s); err != nil {
		return generic.Version{}, err
	}
	return generic.Parse(strings.ToLower(s))
}
