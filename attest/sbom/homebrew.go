package sbom

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/package-url/packageurl-go"
)

const (
	// maxFormulaBytes bounds a formula, a Ruby file of a few kilobytes.
	maxFormulaBytes = 1 << 20
	// typeBrew is the purl type of Homebrew formulae, as syft writes them.
	typeBrew = "brew"
)

// homebrewCataloger reads Homebrew formulae as installed: the copy of the
// formula Homebrew keeps in each keg, PREFIX/Cellar/NAME/VERSION/.brew/NAME.rb
// (/home/linuxbrew/.linuxbrew on Linux, /opt/homebrew, /usr/local). The
// formulae of a tap (Library/Taps/*/*/Formula/*.rb), which syft also lists,
// are what could be installed, not what is: a formula installed from a tap
// has its keg in the Cellar.
var homebrewCataloger = &appCataloger{
	name:       "homebrew",
	purlType:   typeBrew,
	sourceInfo: "cataloged from the formula of a Homebrew keg",
	match:      isKegFormula,
	maxBytes:   maxFormulaBytes,
	parseNamed: parseKegFormula,
}

// kegOf splits PREFIX/Cellar/NAME/VERSION/.brew/FILE.rb into NAME and
// VERSION.
func kegOf(p string) (name, version string, ok bool) {
	i := strings.LastIndex(p, "/Cellar/")
	if i < 0 || !strings.HasSuffix(p, ".rb") {
		return "", "", false
	}
	parts := strings.Split(p[i+len("/Cellar/"):], "/")
	if len(parts) != 4 || parts[2] != ".brew" || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// isKegFormula reports whether p is the formula of a keg (syft's
// **/Cellar/*/*/.brew/*.rb).
func isKegFormula(p string) bool {
	_, _, ok := kegOf(p)
	return ok
}

// parseKegFormula reads a keg's formula, the Ruby class Homebrew wrote,
// without running it. As syft does, the name and version are the
// formula's own `name "…"` and `version "…"` lines if it has both (after
// its class line), else the keg's directories (Cellar/NAME/VERSION: a
// revision is part of it, 1.5.6_1); the license is its `license "…"`, or
// `license any_of: [...]` (OR) or `all_of: [...]` (AND) of string literals.
func parseKegFormula(p string, r io.Reader, _ int64) ([]Package, error) {
	kegName, kegVersion, _ := kegOf(p)
	br := bufio.NewReaderSize(r, 64<<10)
	var name, version, license string
	var err error
	for {
		line, long, rerr := readLine(br, maxGemspecLine)
		line = strings.TrimSpace(line)
		switch {
		case long:
		case strings.Contains(line, "class ") && strings.Contains(line, " < Formula"):
			name, version, license = "", "", ""
		case strings.HasPrefix(line, "name ") || strings.HasPrefix(line, "name\t"):
			name, _ = rubyString(strings.TrimSpace(line[len("name"):]))
		case strings.HasPrefix(line, "version ") || strings.HasPrefix(line, "version\t"):
			version, _ = rubyString(strings.TrimSpace(line[len("version"):]))
		case strings.HasPrefix(line, "license ") || strings.HasPrefix(line, "license\t"):
			license = formulaLicense(strings.TrimSpace(line[len("license"):]))
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				err = fmt.Errorf("read formula: %w", rerr)
			}
			break
		}
	}
	if name == "" || version == "" {
		name, version = kegName, kegVersion
	}
	return []Package{{
		Type:    typeBrew,
		Name:    name,
		Version: version,
		PURL:    packageurl.NewPackageURL(typeBrew, "", name, version, nil, "").ToString(),
		License: license,
	}}, err
}

// formulaLicense reads the argument of a formula's license: a string, or
// any_of: (OR) or all_of: (AND) and a list of strings on the same line
// (a list over several lines is not read). Anything else (a symbol such as :public_domain, an exception given as
// => { with: … }) is kept as written, which the document records as
// NOASSERTION with the text in the license comments.
func formulaLicense(arg string) string {
	if s, rest, ok := nextRubyString(arg); ok && isRubyLineEnd(rest) {
		return s
	}
	for prefix, op := range map[string]string{"any_of:": " OR ", "all_of:": " AND "} {
		rest, ok := strings.CutPrefix(arg, prefix)
		if !ok {
			continue
		}
		rest, comment, _ := strings.Cut(rest, "#")
		list, open := strings.CutPrefix(strings.TrimSpace(rest), "[")
		list, closed := strings.CutSuffix(list, "]")
		if !open || !closed || strings.Contains(comment, "\"") {
			return ""
		}
		var ids []string
		for _, e := range strings.Split(list, ",") {
			s, after, ok := nextRubyString(strings.TrimSpace(e))
			if !ok || !isRubyLineEnd(after) || len(ids) == maxGemLicenses {
				return arg
			}
			ids = append(ids, s)
		}
		return joinLicenses(ids, op)
	}
	return arg
}

// isRubyLineEnd reports whether rest is blank or a comment.
func isRubyLineEnd(rest string) bool {
	rest = strings.TrimSpace(rest)
	return rest == "" || rest[0] == '#'
}
