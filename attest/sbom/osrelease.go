package sbom

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/package-url/packageurl-go"
)

// maxOSReleaseBytes bounds os-release, a file of a few hundred bytes.
const maxOSReleaseBytes = 64 << 10

// osRelease holds the fields of os-release(5) that name a distribution.
type osRelease struct {
	ID string // e.g. "debian", "alpine", "wolfi", "fedora", "arch"
	// VersionID is VERSION_ID, e.g. "12", "3.20.3"; for a rolling release
	// without one, BUILD_ID ("rolling" on Arch Linux), as syft writes the
	// distro qualifier; else empty.
	VersionID string
}

// distro is the purl "distro" qualifier, e.g. "debian-12", or "" if the ID
// is unknown.
func (r *osRelease) distro() string {
	if r == nil || r.ID == "" {
		return ""
	}
	if r.VersionID == "" {
		return r.ID
	}
	return r.ID + "-" + r.VersionID
}

// parseOSRelease reads the KEY=value lines of os-release(5).
func parseOSRelease(r io.Reader) (*osRelease, error) {
	var rel osRelease
	var buildID string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxOSReleaseBytes)
	for sc.Scan() {
		key, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		val = unquoteShell(strings.TrimSpace(val))
		switch key {
		case "ID":
			rel.ID = sanitizeID(val)
		case "VERSION_ID":
			rel.VersionID = sanitizeID(val)
		case "BUILD_ID":
			buildID = sanitizeID(val)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parse os-release: %w", err)
	}
	if rel.VersionID == "" {
		rel.VersionID = buildID
	}
	return &rel, nil
}

// unquoteShell removes the shell quoting that os-release allows.
func unquoteShell(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		if s[0] == '"' {
			if u, err := strconv.Unquote(s); err == nil {
				return u
			}
		}
		return s[1 : len(s)-1]
	}
	return s
}

// sanitizeID keeps the characters os-release allows in IDs (lowercase
// letters, digits, "._-") and caps the length, so that an image cannot
// inject anything into purls.
func sanitizeID(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 64; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
			b.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		}
	}
	return b.String()
}

// namespace is the purl namespace of packages of this OS: its ID, or def
// when os-release is missing.
func (r *osRelease) namespace(def string) string {
	if r != nil && r.ID != "" {
		return r.ID
	}
	return def
}

// osQualifiers are the purl qualifiers of an OS package, in the order arch,
// extra, distro, upstream; empty values are left out.
func osQualifiers(arch string, rel *osRelease, upstream string, extra ...packageurl.Qualifier) packageurl.Qualifiers {
	var q packageurl.Qualifiers
	if arch != "" {
		q = append(q, packageurl.Qualifier{Key: "arch", Value: arch})
	}
	q = append(q, extra...)
	if d := rel.distro(); d != "" {
		q = append(q, packageurl.Qualifier{Key: "distro", Value: d})
	}
	if upstream != "" {
		q = append(q, packageurl.Qualifier{Key: "upstream", Value: upstream})
	}
	return q
}
