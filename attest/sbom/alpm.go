package sbom

import (
	"cmp"
	"errors"
	"io"
	"strings"

	"github.com/package-url/packageurl-go"
)

const (
	// maxAlpmDescBytes bounds one package's desc file of the pacman
	// database, about a kilobyte (its file list is in another file).
	maxAlpmDescBytes = 1 << 20
	// maxAlpmLicenses bounds the licenses read from one desc file.
	maxAlpmLicenses = 64
)

// alpmPackage is one package of the pacman database (Arch Linux and
// other users of libalpm): the desc file of its directory
// /var/lib/pacman/local/NAME-VERSION/.
type alpmPackage struct {
	Name     string   // %NAME%
	Version  string   // %VERSION%, with the package release: 6.2.1-2
	Base     string   // %BASE%: the package base (PKGBUILD) it was built from
	Arch     string   // %ARCH%: x86_64, aarch64, any
	Licenses []string // %LICENSE%, one per line
}

// isAlpmDesc reports whether p is a package's desc file in the pacman
// database of the image's root.
func isAlpmDesc(dir, base string) bool {
	d, ok := strings.CutPrefix(dir, "/var/lib/pacman/local/")
	return ok && base == "desc" && len(d) > 1 && strings.IndexByte(d, '/') == len(d)-1
}

// parseAlpmDesc reads a desc file: sections of a %KEY% line and value
// lines, ended by a blank line. As syft reads it, the key is the first
// line without its percent signs, in any case. A desc without a name and
// a version yields nothing and an error.
func parseAlpmDesc(r io.Reader) ([]alpmPackage, error) {
	var p alpmPackage
	key := ""
	field := func(line []byte) bool {
		v := strings.TrimSpace(string(line))
		if key == "" {
			key = strings.ToLower(strings.ReplaceAll(v, "%", ""))
			return true
		}
		switch key { // a single value is its first line
		case "name":
			p.Name = cmp.Or(p.Name, v)
		case "version":
			p.Version = cmp.Or(p.Version, v)
		case "base":
			p.Base = cmp.Or(p.Base, v)
		case "arch":
			p.Arch = cmp.Or(p.Arch, v)
		case "license":
			if len(p.Licenses) < maxAlpmLicenses && v != "" {
				p.Licenses = append(p.Licenses, v)
			}
		}
		return true
	}
	err := scanRecords(r, "pacman desc", field, func() { key = "" })
	if p.Name == "" || p.Version == "" {
		return nil, errors.Join(err, errors.New("pacman desc has no %NAME% or no %VERSION%"))
	}
	return []alpmPackage{p}, err
}

// purl is pkg:alpm/<os id>/<name>@<version>?arch=…&distro=…&upstream=<base>,
// the namespace "arch" when os-release is missing. As syft writes it,
// upstream is the package base even when it is the name, and the distro of
// Arch Linux, a rolling release, is arch-rolling (BUILD_ID).
func (p *alpmPackage) purl(rel *osRelease) string {
	return packageurl.NewPackageURL(packageurl.TypeAlpm, rel.namespace("arch"), p.Name, p.Version, osQualifiers(p.Arch, rel, p.Base), "").ToString()
}

// license joins the package's licenses with AND: a PKGBUILD lists every
// license that applies to the package.
func (p *alpmPackage) license() string {
	return joinLicenses(p.Licenses, " AND ")
}
