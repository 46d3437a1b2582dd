package sbom

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/package-url/packageurl-go"
)

const (
	// maxGemspecBytes bounds one installed gemspec. RubyGems writes the
	// gem's file list on one line, so a large gem's is long, but none
	// needs more.
	maxGemspecBytes = 4 << 20
	// maxGemspecLine bounds the lines the cataloger looks at; a longer line
	// (a file list) is skipped, not an error.
	maxGemspecLine = 1 << 20
	// maxGemLicenses bounds the licenses read from one gemspec.
	maxGemLicenses = 32
)

// rubyCataloger reads installed Ruby gems: the gemspec RubyGems writes for
// each under a specifications directory (GEM_HOME/specifications,
// specifications/default for the gems bundled with Ruby, Debian's
// rubygems-integration/…/specifications), as syft does for images. A
// gemspec elsewhere (in a source tree) is not an installed gem.
var rubyCataloger = &appCataloger{
	name:       "ruby",
	purlType:   packageurl.TypeGem,
	sourceInfo: "cataloged from the installed gemspec of a Ruby gem",
	match:      isInstalledGemspec,
	maxBytes:   maxGemspecBytes,
	parse:      parseGemspec,
}

// isInstalledGemspec reports whether p is a *.gemspec below a directory
// named specifications (syft's **/specifications/**/*.gemspec).
func isInstalledGemspec(p string) bool {
	return strings.HasSuffix(p, ".gemspec") && strings.Contains(p, "/specifications/")
}

// parseGemspec reads the Ruby code RubyGems writes for an installed gem
// (Gem::Specification#to_ruby) without running it: the string literals
// assigned to name and version, and the licenses (s.licenses = [...] or
// s.license = "..."). As in Ruby, a later assignment wins. A gemspec
// whose name or version is not a literal (a hand-written one) yields
// nothing and an error.
func parseGemspec(r io.Reader, _ int64) ([]Package, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var name, version string
	var licenses []string
	var err error
	for {
		line, long, rerr := readLine(br, maxGemspecLine)
		if !long {
			if field, value, ok := gemspecAssignment(line); ok {
				switch field {
				case "name":
					if s, ok := rubyString(value); ok {
						name = s
					}
				case "version":
					if s, ok := rubyString(value); ok {
						version = s
					}
				case "license":
					if s, ok := rubyString(value); ok {
						licenses = []string{s}
					}
				case "licenses":
					licenses = rubyStringList(value, maxGemLicenses)
				}
			}
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				err = fmt.Errorf("read gemspec: %w", rerr)
			}
			break
		}
	}
	name, version = strings.TrimSpace(name), strings.TrimSpace(version)
	if name == "" || version == "" {
		return nil, errors.Join(err, errors.New("gemspec assigns no literal name or version"))
	}
	return []Package{{
		Type:    packageurl.TypeGem,
		Name:    name,
		Version: version,
		PURL:    packageurl.NewPackageURL(packageurl.TypeGem, "", name, version, nil, "").ToString(),
		License: anyOfLicenses(licenses),
	}}, err
}

// readLine returns the next line without its end of line. A line longer
// than limit is consumed and reported as long (its text is not returned).
func readLine(br *bufio.Reader, limit int) (line string, long bool, err error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if !long {
			if len(b)+len(chunk) > limit {
				long, b = true, nil
			} else {
				b = append(b, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return strings.TrimRight(string(b), "\r\n"), long, err
	}
}

// gemspecAssignment splits "s.FIELD = VALUE" (any receiver, surrounding
// blanks) into FIELD and VALUE.
func gemspecAssignment(line string) (field, value string, ok bool) {
	line = strings.TrimSpace(line)
	dot := strings.IndexByte(line, '.')
	if dot <= 0 || !isRubyIdent(line[:dot]) {
		return "", "", false
	}
	lhs, rhs, ok := strings.Cut(line[dot+1:], "=")
	if !ok || strings.HasPrefix(rhs, "=") || strings.HasPrefix(rhs, "~") {
		return "", "", false // ==, =~: not an assignment
	}
	field = strings.TrimSpace(lhs)
	switch field {
	case "name", "version", "license", "licenses":
		return field, strings.TrimSpace(rhs), true
	}
	return "", "", false
}

func isRubyIdent(s string) bool {
	for i, c := range s {
		letter := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

// rubyString reads the string literal at the start of s ("…" or '…',
// optionally followed by .freeze) and returns its value; what follows it
// (a trailing condition) is ignored.
func rubyString(s string) (string, bool) {
	v, _, ok := nextRubyString(s)
	return v, ok
}

// nextRubyString reads the string literal at the start of s and returns
// its value and the rest of s after it (and after .freeze).
func nextRubyString(s string) (value, rest string, ok bool) {
	if s == "" || (s[0] != '"' && s[0] != '\'') {
		return "", s, false
	}
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), strings.TrimPrefix(s[i+1:], ".freeze"), true
		case c == '\\' && i+1 < len(s):
			i++
			e := s[i]
			if q == '\'' && e != '\'' && e != '\\' {
				b.WriteByte('\\') // single quotes escape only \' and \\
				b.WriteByte(e)
				continue
			}
			if e == 'u' && q == '"' && i+4 < len(s) {
				if r, err := strconv.ParseUint(s[i+1:i+5], 16, 32); err == nil {
					b.WriteRune(rune(r))
					i += 4
					continue
				}
			}
			b.WriteByte(e)
		case c == '#' && q == '"' && i+1 < len(s) && s[i+1] == '{':
			return "", s, false // interpolation: not a literal
		default:
			b.WriteByte(c)
		}
	}
	return "", s, false
}

// rubyStringList reads a literal array of strings, ["MIT".freeze, …], at
// most limit of them; it stops at anything that is not a string literal.
func rubyStringList(s string, limit int) []string {
	s, ok := strings.CutPrefix(strings.TrimSpace(s), "[")
	if !ok {
		return nil
	}
	var out []string
	for len(out) < limit {
		v, rest, ok := nextRubyString(strings.TrimSpace(s))
		if !ok {
			break
		}
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ",") {
			break
		}
		s = rest[1:]
	}
	return out
}
