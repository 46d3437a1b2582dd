package glob

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Pattern is a compiled pattern. The zero Pattern matches nothing.
type Pattern struct {
	raw  string
	segs []string
}

// Compile checks pattern and prepares it for matching. The error quotes the
// pattern.
func Compile(pattern string) (Pattern, error) {
	if pattern == "" {
		return Pattern{}, errors.New("empty pattern")
	}
	segs := strings.Split(pattern, "/")
	for _, s := range segs {
		if s == "**" {
			continue
		}
		if strings.Contains(s, "**") {
			return Pattern{}, fmt.Errorf("bad pattern %q: ** must be a whole path segment", pattern)
		}
		if _, err := path.Match(s, ""); err != nil {
			return Pattern{}, fmt.Errorf("bad pattern %q: %w", pattern, err)
		}
	}
	return Pattern{raw: pattern, segs: segs}, nil
}

// Check reports whether pattern compiles.
func Check(pattern string) error {
	_, err := Compile(pattern)
	return err
}

// CompileAll compiles patterns; what names the list in errors ("base image
// allow pattern"), which also give the index of the bad pattern.
func CompileAll(what string, patterns []string) ([]Pattern, error) {
	out := make([]Pattern, 0, len(patterns))
	for i, p := range patterns {
		g, err := Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%s [%d]: %w", what, i, err)
		}
		out = append(out, g)
	}
	return out, nil
}

// Match reports whether pattern matches name; a pattern that does not
// compile matches nothing.
func Match(pattern, name string) bool {
	g, err := Compile(pattern)
	return err == nil && g.Match(name)
}

// String returns the pattern as written.
func (g Pattern) String() string { return g.raw }

// Match reports whether name matches the pattern.
func (g Pattern) Match(name string) bool {
	if len(g.segs) == 0 {
		return false
	}
	return matchSegs(g.segs, strings.Split(name, "/"))
}

// First returns the first of patterns that matches name.
func First(patterns []Pattern, name string) (string, bool) {
	for _, g := range patterns {
		if g.Match(name) {
			return g.raw, true
		}
	}
	return "", false
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			// Collapse runs of "**", then try every split. A trailing "**"
			// needs at least one non-empty segment to match.
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return len(name) > 0 && name[0] != ""
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

// MatchesAny reports whether one of patterns matches one of names: the
// names one thing goes by, such as the spellings of a repository.
func MatchesAny(patterns []Pattern, names []string) bool {
	for _, n := range names {
		if _, ok := First(patterns, n); ok {
			return true
		}
	}
	return false
}
