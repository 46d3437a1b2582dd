package sbom

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/package-url/packageurl-go"
)

// apkPackage is one record of an apk installed database.
type apkPackage struct {
	Name    string // P:
	Version string // V:
	Arch    string // A:
	License string // L:
	Origin  string // o: the source package
}

// parseApkInstalled reads an apk installed database (lib/apk/db/installed):
// records separated by blank lines, one "X:value" field per line. Lines of
// other shapes are skipped; the first one is reported as an error alongside
// every package that could be read.
func parseApkInstalled(r io.Reader) ([]apkPackage, error) {
	var (
		pkgs    []apkPackage
		cur     apkPackage
		badLine int
		n       int
	)
	flush := func() {
		if cur.Name != "" && cur.Version != "" {
			pkgs = append(pkgs, cur)
		}
		cur = apkPackage{}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	for sc.Scan() {
		n++
		line := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			flush()
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			if badLine == 0 {
				badLine = n
			}
			continue
		}
		v := string(bytes.TrimSpace(line[2:]))
		switch line[0] {
		case 'P':
			cur.Name = v
		case 'V':
			cur.Version = v
		case 'A':
			cur.Arch = v
		case 'L':
			cur.License = v
		case 'o':
			cur.Origin = v
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return pkgs, fmt.Errorf("parse apk installed: line %d: %w", n+1, err)
	}
	if badLine != 0 {
		return pkgs, fmt.Errorf("parse apk installed: line %d: not a field", badLine)
	}
	return pkgs, nil
}

// purl is pkg:apk/<os id>/<name>@<version>?arch=…&distro=…&upstream=…, the
// namespace being "alpine", "wolfi", … from os-release (default "alpine").
func (p *apkPackage) purl(rel *osRelease) string {
	up := ""
	if p.Origin != p.Name {
		up = p.Origin
	}
	return packageurl.NewPackageURL(packageurl.TypeApk, rel.namespace("alpine"), p.Name, p.Version, osQualifiers(p.Arch, rel, up), "").ToString()
}
