package builder

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// glob is a pattern over slash-separated names, used by the base-image
// allowlist ("registry/repository") and the secret scan's path allowlist
// (paths in the image). The name and the pattern are split at "/" and
// matched segment by segment with the syntax of path.Match: "*" matches any
// run of characters except "/", "?" one character except "/", "[...]" a
// character class and "\" escapes. A segment that is exactly "**" matches
// any number of whole segments, none included. "**" anywhere else is an
// error. So "127.0.0.1:*/hallmark/*" matches "127.0.0.1:7434/hallmark/static"
// but not "127.0.0.1:7434/hallmark/tools/go"; "docker.io/library/**" matches
// both "docker.io/library/alpine" and "docker.io/library/a/b".
type glob struct {
	raw  string
	segs []string
}

// compileGlob checks pattern and prepares it for matching.
func compileGlob(pattern string) (glob, error) {
	if pattern == "" {
		return glob{}, errors.New("empty pattern")
	}
	segs := strings.Split(pattern, "/")
	for _, s := range segs {
		if s == "**" {
			continue
		}
		if strings.Contains(s, "**") {
			return glob{}, fmt.Errorf("bad pattern %q: ** must be a whole path segment", pattern)
		}
		if _, err := path.Match(s, ""); err != nil {
			return glob{}, fmt.Errorf("bad pattern %q: %w", pattern, err)
		}
	}
	return glob{raw: pattern, segs: segs}, nil
}

// CheckGlob checks a pattern of the base-image allowlist or the secret
// scan's path allowlist; see docs/build-policy.md for the syntax. The error
// quotes the pattern.
func CheckGlob(pattern string) error {
	_, err := compileGlob(pattern)
	return err
}

// match reports whether name matches the pattern.
func (g glob) match(name string) bool {
	return matchSegs(g.segs, strings.Split(name, "/"))
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			// Collapse runs of "**", then try every split.
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return true
			}
			for i := range len(name) + 1 {
				if matchSegs(pat, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// compileGlobs compiles patterns; what names the list in errors
// ("base image allow pattern").
func compileGlobs(what string, patterns []string) ([]glob, error) {
	out := make([]glob, 0, len(patterns))
	for i, p := range patterns {
		g, err := compileGlob(p)
		if err != nil {
			return nil, fmt.Errorf("%s [%d]: %w", what, i, err)
		}
		out = append(out, g)
	}
	return out, nil
}

// firstMatch returns the first pattern that matches name.
func firstMatch(globs []glob, name string) (string, bool) {
	for _, g := range globs {
		if g.match(name) {
			return g.raw, true
		}
	}
	return "", false
}
