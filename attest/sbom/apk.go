package sbom

import (
	"bytes"
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
		pkgs []apkPackage
		cur  apkPackage
	)
	field := func(line []byte) bool {
		line = bytes.TrimRight(line, "\r")
		if len(line) < 2 || line[1] != ':' {
			return false
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
		return true
	}
	end := func() {
		if cur.Name != "" && cur.Version != "" {
			pkgs = append(pkgs, cur)
		}
		cur = apkPackage{}
	}
	err := scanRecords(r, "apk installed", field, end)
	return pkgs, err
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
