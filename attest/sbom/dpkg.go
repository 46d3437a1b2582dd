package sbom

import (
	"bytes"
	"io"
	"strings"

	"github.com/package-url/packageurl-go"
)

// dpkgPackage is one paragraph of a dpkg status file.
type dpkgPackage struct {
	Name          string
	Version       string
	Arch          string
	Source        string // source package name, if different from Name
	SourceVersion string // source version, if different from Version
	Status        string
}

// installed reports whether the Status field says the package is unpacked
// and configured ("install ok installed", also "hold ok installed"). The
// per-package files of distroless images (status.d) carry no Status; their
// packages are installed by construction.
func (p *dpkgPackage) installed() bool {
	if p.Status == "" {
		return true
	}
	f := strings.Fields(p.Status)
	return len(f) == 3 && f[1] == "ok" && f[2] == "installed"
}

// parseDpkgStatus reads the paragraphs of a dpkg status file (the whole
// /var/lib/dpkg/status, or one file of a distroless status.d) and returns
// the installed packages. Lines that are not "Field: value" or a
// continuation are skipped; the first such line is reported as an error
// alongside every package that could be read.
func parseDpkgStatus(r io.Reader) ([]dpkgPackage, error) {
	var (
		pkgs []dpkgPackage
		cur  dpkgPackage
	)
	field := func(line []byte) bool {
		if line[0] == ' ' || line[0] == '\t' {
			return true // continuation of a multi-line field; none is needed
		}
		key, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return false
		}
		v := string(bytes.TrimSpace(val))
		switch string(key) {
		case "Package":
			cur.Name = v
		case "Version":
			cur.Version = v
		case "Architecture":
			cur.Arch = v
		case "Status":
			cur.Status = v
		case "Source":
			// "Source: glibc" or "Source: glibc (2.36-9+deb12u4)"
			name, ver, _ := strings.Cut(v, " ")
			cur.Source = name
			cur.SourceVersion = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(ver), "("), ")")
		}
		return true
	}
	end := func() {
		if cur.Name != "" && cur.Version != "" && cur.installed() {
			pkgs = append(pkgs, cur)
		}
		cur = dpkgPackage{}
	}
	err := scanRecords(r, "dpkg status", field, end)
	return pkgs, err
}

// purl is pkg:deb/<os id>/<name>@<version>?arch=…&distro=…&upstream=….
func (p *dpkgPackage) purl(rel *osRelease) string {
	up := upstream(p.Name, p.Version, p.Source, p.SourceVersion)
	return packageurl.NewPackageURL(packageurl.TypeDebian, rel.namespace("debian"), p.Name, p.Version, osQualifiers(p.Arch, rel, up), "").ToString()
}

// upstream is the purl "upstream" qualifier for a source package: "", the
// source name, or "name@version" when the versions differ too.
func upstream(name, version, src, srcVersion string) string {
	if src == "" || src == name && (srcVersion == "" || srcVersion == version) {
		return ""
	}
	if srcVersion == "" || srcVersion == version {
		return src
	}
	return src + "@" + srcVersion
}
