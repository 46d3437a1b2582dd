package version

import (
	"fmt"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
)

// MaxLength bounds the versions Parse accepts: no ecosystem writes longer
// ones, and the comparison libraries take time in proportion to it.
const MaxLength = 256

// Ordering orders the versions of one ecosystem.
type Ordering interface {
	// Name names the ordering: "dpkg", "apk", "rpm", "go", "semver",
	// "pep440", "npm", "maven", "rubygems", "nuget", "packagist".
	Name() string
	// Parse parses v once, so that it can be compared with many others.
	// A version the ecosystem does not accept is an error wrapping
	// hallmark.ErrInvalid.
	Parse(v string) (Version, error)
	// Compare parses a and b and returns -1, 0 or +1 as a is less than,
	// equal to or greater than b.
	Compare(a, b string) (int, error)
}

// Version is a version parsed by an Ordering.
type Version interface {
	// Compare returns -1, 0 or +1 as the version is less than, equal to or
	// greater than w, which must come from the same Ordering's Parse (two
	// versions of different orderings are ordered as strings).
	Compare(w Version) int
	// String returns the version as it was parsed.
	String() string
}

// For returns the ordering of an OSV ecosystem. The part after the first
// ":" ("Debian:12", "Ubuntu:22.04:LTS", "Alpine:v3.20",
// "Maven:https://maven.google.com") scopes the advisory to a release or a
// repository and does not change the ordering. An ecosystem without a
// known ordering is an error wrapping hallmark.ErrInvalid.
func For(ecosystem string) (Ordering, error) {
	base, _, _ := strings.Cut(ecosystem, ":")
	if o, ok := byEcosystem[base]; ok {
		return o, nil
	}
	return nil, fmt.Errorf("%w: no version ordering for ecosystem %q", hallmark.ErrInvalid, hallmark.Clip(ecosystem, 64))
}

// SemVer returns the SemVer 2.0 ordering of OSV's SEMVER ranges, whatever
// their ecosystem. A leading "v" is accepted.
func SemVer() Ordering { return semverOrdering }

// Ecosystems returns the ecosystems For knows, without release suffixes.
func Ecosystems() []string {
	out := make([]string, 0, len(byEcosystem))
	for e := range byEcosystem {
		out = append(out, e)
	}
	return out
}

// byEcosystem maps the OSV ecosystem names (the part before ":") to their
// orderings.
var byEcosystem = map[string]Ordering{
	"Debian":      dpkgOrdering,
	"Ubuntu":      dpkgOrdering,
	"Alpine":      apkOrdering,
	"Wolfi":       apkOrdering,
	"Chainguard":  apkOrdering,
	"AlmaLinux":   rpmOrdering,
	"Rocky Linux": rpmOrdering,
	"Red Hat":     rpmOrdering,
	"openSUSE":    rpmOrdering,
	"SUSE":        rpmOrdering,
	"Mageia":      rpmOrdering,
	"openEuler":   rpmOrdering,
	"Photon OS":   rpmOrdering,
	"Go":          goOrdering,
	"crates.io":   semverOrdering,
	"PyPI":        pep440Ordering,
	"npm":         npmOrdering,
	"Maven":       mavenOrdering,
	"RubyGems":    gemOrdering,
	"NuGet":       nugetOrdering,
	"Packagist":   packagistOrdering,
}

// ordering adapts a library's parse and compare functions to Ordering.
type ordering[T any] struct {
	name  string
	parse func(string) (T, error)
	cmp   func(a, b T) int
}

// parsed is a version parsed by an ordering[T].
type parsed[T any] struct {
	s string
	v T
	o *ordering[T]
}

func (o *ordering[T]) Name() string { return o.name }

func (o *ordering[T]) Parse(s string) (v Version, err error) {
	switch {
	case s == "":
		return nil, fmt.Errorf("%w: empty %s version", hallmark.ErrInvalid, o.name)
	case len(s) > MaxLength:
		return nil, fmt.Errorf("%w: %s version of %d bytes (at most %d)", hallmark.ErrInvalid, o.name, len(s), MaxLength)
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%w: %s version %q does not parse", hallmark.ErrInvalid, o.name, hallmark.Clip(s, 64))
		}
	}()
	t, err := o.parse(s)
	if err != nil {
		// The library's error is a detail, not a class: it is quoted.
		return nil, fmt.Errorf("%w: %s version %q: %s", hallmark.ErrInvalid, o.name, hallmark.Clip(s, 64), hallmark.Clip(err.Error(), 128))
	}
	return parsed[T]{s: s, v: t, o: o}, nil
}

func (o *ordering[T]) Compare(a, b string) (int, error) {
	va, err := o.Parse(a)
	if err != nil {
		return 0, err
	}
	vb, err := o.Parse(b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

func (v parsed[T]) String() string { return v.s }

func (v parsed[T]) Compare(w Version) (c int) {
	u, ok := w.(parsed[T])
	if !ok || u.o != v.o {
		return strings.Compare(v.s, w.String())
	}
	if v.s == u.s {
		return 0
	}
	defer func() {
		if r := recover(); r != nil {
			c = strings.Compare(v.s, u.s)
		}
	}()
	return sign(v.o.cmp(v.v, u.v))
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}
