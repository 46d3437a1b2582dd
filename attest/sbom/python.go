package sbom

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/package-url/packageurl-go"
)

// maxPythonHeaderBytes bounds the header block of one METADATA or PKG-INFO
// file: the package's description, after it, is never read.
const maxPythonHeaderBytes = 1 << 20

// pythonCataloger reads installed Python distributions: a wheel's
// NAME-VERSION.dist-info/METADATA, a setuptools NAME.egg-info/PKG-INFO,
// and a NAME-VERSION.egg-info file (distutils, as Debian installs many).
var pythonCataloger = &appCataloger{
	name:       "python",
	purlType:   packageurl.TypePyPi,
	sourceInfo: "cataloged from the metadata of an installed Python distribution",
	match:      isPythonMetadata,
	parse:      parsePythonMetadata,
}

// isPythonMetadata reports whether p is the metadata of an installed
// Python distribution.
func isPythonMetadata(p string) bool {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	switch base {
	case "METADATA":
		return strings.HasSuffix(dir, ".dist-info") || strings.HasSuffix(dir, ".DIST-INFO")
	case "PKG-INFO":
		return strings.HasSuffix(dir, ".egg-info") || strings.HasSuffix(dir, ".EGG-INFO")
	}
	return strings.HasSuffix(base, ".egg-info")
}

// parsePythonMetadata reads the core metadata header block (RFC 822
// style, https://packaging.python.org/specifications/core-metadata/) of
// one distribution: Name, Version and its license.
func parsePythonMetadata(r io.Reader, _ int64) ([]Package, error) {
	h, err := readMetadataHeaders(r, maxPythonHeaderBytes)
	name, version := h["name"], h["version"]
	if name == "" || version == "" {
		return nil, errors.Join(err, errors.New("metadata has no Name or no Version"))
	}
	if name == "Python" {
		// The interpreter's own egg-info (Python 2.7's lib-dynload): the
		// runtime, not a distribution on PyPI; syft skips it too.
		return nil, err
	}
	license := h["license-expression"]
	if license == "" && !strings.ContainsAny(h["license"], "\n") && len(h["license"]) <= 128 {
		license = h["license"] // a short declared license, not a license text
	}
	if strings.EqualFold(license, "UNKNOWN") {
		license = ""
	}
	return []Package{{
		Type:    packageurl.TypePyPi,
		Name:    name,
		Version: version,
		PURL:    packageurl.NewPackageURL(packageurl.TypePyPi, "", normalizePyPI(name), version, nil, "").ToString(),
		License: license,
	}}, err
}

// normalizePyPI is a distribution name as PyPI compares them (PEP 503,
// and the purl specification's pypi type): lower case, each run of "-",
// "_" and "." one "-".
func normalizePyPI(name string) string {
	return strings.ToLower(pypiSeparators().ReplaceAllString(name, "-"))
}

var pypiSeparators = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[-_.]+`) })

// readMetadataHeaders reads RFC 822 style headers up to the first blank
// line after a field (blank lines before the first are skipped), at most
// limit bytes: lower-cased field names to the first value of each,
// continuation lines joined with "\n". A line that is neither a field nor
// a continuation is skipped and reported in the error, as the fields
// around it are still good (real metadata written by old tools has them).
func readMetadataHeaders(r io.Reader, limit int) (map[string]string, error) {
	lr := &io.LimitedReader{R: r, N: int64(limit) + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), limit+1)
	h := map[string]string{}
	last := ""
	var malformed error
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			if len(h) == 0 {
				continue
			}
			return h, malformed
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last != "" {
				h[last] += "\n" + strings.TrimSpace(line)
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) == "" {
			if malformed == nil {
				malformed = fmt.Errorf("malformed header line %.40q", line)
			}
			last = ""
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if _, seen := h[k]; seen {
			last = "" // a repeated field (Classifier): keep the first
			continue
		}
		h[k], last = strings.TrimSpace(v), k
	}
	if err := sc.Err(); err != nil {
		return h, err
	}
	if lr.N <= 0 {
		return h, fmt.Errorf("header block is over %d bytes", limit)
	}
	return h, malformed
}
