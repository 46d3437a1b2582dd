package sbom

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/package-url/packageurl-go"
)

// maxDescriptionBytes bounds one R DESCRIPTION file, a few kilobytes of
// fields.
const maxDescriptionBytes = 1 << 20

// rCataloger reads R packages: the DESCRIPTION file R installs in each
// package's directory of a library (/usr/lib/R/library/NAME for the base
// packages, /usr/lib/R/site-library/NAME for Debian's r-cran-*,
// /usr/local/lib/R/site-library/NAME for install.packages), and the one
// of an application's own source tree, as syft reads every file named
// DESCRIPTION. A DESCRIPTION without Package and Version fields is not
// R's and yields nothing.
var rCataloger = &appCataloger{
	name:       "r",
	purlType:   packageurl.TypeCran,
	sourceInfo: "cataloged from the DESCRIPTION file of an R package",
	match:      func(p string) bool { return path.Base(p) == "DESCRIPTION" },
	maxBytes:   maxDescriptionBytes,
	parse:      parseRDescription,
}

// parseRDescription reads a DESCRIPTION file (Debian control format, as
// R's read.dcf reads it): Package, Version and License. As in syft, field
// names are matched exactly, blank lines do not end the fields and a later
// field wins; a line that is not "Name: value" or a continuation ends the
// field before it and is skipped.
func parseRDescription(r io.Reader, _ int64) ([]Package, error) {
	fields, err := readDCF(r, maxDescriptionBytes)
	name, version := fields["Package"], fields["Version"]
	if name == "" || version == "" {
		return nil, err // not an R package
	}
	if strings.ContainsAny(name+version, "\n\r") {
		return nil, errors.Join(err, fmt.Errorf("package %.40q or version %.40q spans lines", name, version))
	}
	return []Package{{
		Type:    packageurl.TypeCran,
		Name:    name,
		Version: version,
		PURL:    packageurl.NewPackageURL(packageurl.TypeCran, "", name, version, nil, "").ToString(),
		License: rLicense(fields["License"]),
	}}, err
}

// readDCF reads "Name: value" fields, continuation lines (starting with a
// blank) joined to the value with "\n", at most limit bytes.
func readDCF(r io.Reader, limit int) (map[string]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), limit)
	fields := map[string]string{}
	key := ""
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		switch {
		case line == "":
		case line[0] == ' ' || line[0] == '\t':
			if key != "" {
				fields[key] += "\n" + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				key = ""
				continue
			}
			key, fields[k] = k, strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return fields, fmt.Errorf("read DESCRIPTION: %w", err)
	}
	return fields, nil
}

// rLicenses are the licenses of R's license database
// (share/licenses/license.db), as a License field names them with its
// blanks removed, to their SPDX identifiers.
var rLicenses = map[string]string{
	"GPL-2": "GPL-2.0-only", "GPL-3": "GPL-3.0-only",
	"GPL(>=2)": "GPL-2.0-or-later", "GPL(>=2.0)": "GPL-2.0-or-later", "GPL(>=3)": "GPL-3.0-or-later",
	"LGPL-2": "LGPL-2.0-only", "LGPL-2.1": "LGPL-2.1-only", "LGPL-3": "LGPL-3.0-only",
	"LGPL(>=2)": "LGPL-2.0-or-later", "LGPL(>=2.1)": "LGPL-2.1-or-later", "LGPL(>=3)": "LGPL-3.0-or-later",
	"AGPL-3": "AGPL-3.0-only", "AGPL(>=3)": "AGPL-3.0-or-later",
	"Artistic-2.0": "Artistic-2.0", "ApacheLicense2.0": "Apache-2.0", "ApacheLicense(==2.0)": "Apache-2.0",
	"MIT": "MIT", "BSD_2_clause": "BSD-2-Clause", "BSD_3_clause": "BSD-3-Clause",
	"MPL-2.0": "MPL-2.0", "CC0": "CC0-1.0",
}

// rLicense turns a License field into an SPDX expression when every
// alternative (R separates them with "|") is a license of R's database,
// with or without "+ file LICENSE" (the copyright holder of an MIT or BSD
// template, or a further restriction); otherwise it is kept as written
// ("Part of R 4.2.2", "file LICENSE", "Unlimited"), which the document
// records as NOASSERTION with the text in the license comments unless it
// happens to be an SPDX expression.
func rLicense(field string) string {
	field = strings.Join(strings.Fields(field), " ")
	var ids []string
	for _, alt := range strings.Split(field, "|") {
		alt = strings.ReplaceAll(alt, " ", "")
		for _, extra := range []string{"+fileLICENSE", "+fileLICENCE"} {
			alt = strings.TrimSuffix(alt, extra)
		}
		id, ok := rLicenses[alt]
		if !ok {
			return field
		}
		ids = append(ids, id)
	}
	return strings.Join(ids, " OR ")
}
