package sbom

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/package-url/packageurl-go"
)

const (
	// portageDB is where Portage records what it installed (the VDB): one
	// directory per package, /var/db/pkg/CATEGORY/NAME-VERSION/.
	portageDB = "/var/db/pkg/"
	// maxPortageLicenseBytes bounds a package's LICENSE file, one line.
	maxPortageLicenseBytes = 64 << 10
	// typeEbuild is the purl type of Portage packages (a candidate type of
	// the purl specification, as syft writes them).
	typeEbuild = "ebuild"
)

// portagePackage is one package of Portage's database (Gentoo): its
// CONTENTS file, whose directory names the package.
type portagePackage struct {
	Name    string // CATEGORY/NAME: app-containers/skopeo
	Version string // 1.5.1, 2.39-r6
}

// portageFileOf says which file of Portage's database p is, in the
// image's root: "CONTENTS" or "LICENSE" of a package directory, or "".
func portageFileOf(dir, base string) string {
	d, ok := strings.CutPrefix(dir, portageDB) // dir is clean: no "//"
	if !ok || (base != "CONTENTS" && base != "LICENSE") || strings.Count(d, "/") != 2 {
		return ""
	}
	return base
}

// portageCPV is syft's pattern of a package directory: the category and
// name, then the version (digits, letter, _pre/_p/_beta/_alpha/_rc
// suffixes, -rN revision) as Gentoo's package manager specification
// defines it.
var portageCPV = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`/([^/]*/[\w+][\w+-]*)-((\d+)((\.\d+)*)([a-z]?)((_(pre|p|beta|alpha|rc)\d*)*)(-r\d+)?)/CONTENTS$`)
})

// portageFromPath names the package whose CONTENTS file is at p (its
// content, the installed files, is not read).
func portageFromPath(p string) (portagePackage, error) {
	m := portageCPV().FindStringSubmatch(p)
	if m == nil {
		return portagePackage{}, fmt.Errorf("portage: no package name and version in %s", p)
	}
	return portagePackage{Name: m[1], Version: m[2]}, nil
}

// purl is pkg:ebuild/<category>%2F<name>@<version>: the category is part
// of the name, as syft writes it.
func (p *portagePackage) purl() string {
	return packageurl.NewPackageURL(typeEbuild, "", p.Name, p.Version, nil, "").ToString()
}

// readPortageLicense reads a package's LICENSE file (the ebuild's LICENSE
// variable): names separated by blanks, all of which apply, are joined
// with AND; anything else ("|| ( … )" choices, "flag? ( … )" conditions,
// "@GROUP" groups) is kept as written, with its blanks collapsed, and the
// document records it as NOASSERTION with the text in the license comments.
func readPortageLicense(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPortageLicenseBytes+1))
	if err != nil {
		return "", fmt.Errorf("read portage LICENSE: %w", err)
	}
	if len(b) > maxPortageLicenseBytes {
		return "", fmt.Errorf("portage LICENSE is over %d bytes", maxPortageLicenseBytes)
	}
	names := strings.Fields(string(b))
	for _, n := range names {
		if strings.ContainsAny(n, "|?()@") {
			return strings.Join(names, " "), nil
		}
	}
	return strings.Join(names, " AND "), nil
}
