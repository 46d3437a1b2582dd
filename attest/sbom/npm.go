package sbom

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/package-url/packageurl-go"
)

// maxPackageJSONBytes bounds one package.json: old npm versions embedded
// the readme, so some are large, but none needs more.
const maxPackageJSONBytes = 4 << 20

// npmCataloger reads Node.js packages from their package.json: those
// installed under node_modules (nested and scoped) and every other
// package.json in the image, as syft does for images. Lock files describe
// what an install would fetch, not what the image holds, and are not read.
var npmCataloger = &appCataloger{
	name:       "npm",
	purlType:   packageurl.TypeNPM,
	sourceInfo: "cataloged from the package.json of a Node.js package",
	match:      func(p string) bool { return path.Base(p) == "package.json" },
	maxBytes:   maxPackageJSONBytes,
	parse:      parsePackageJSON,
}

// packageJSON is the part of a package.json the cataloger reads.
type packageJSON struct {
	Name     string          `json:"name"`
	Version  string          `json:"version"`
	License  json.RawMessage `json:"license"`
	Licenses json.RawMessage `json:"licenses"`
}

// parsePackageJSON reads one package.json. A manifest without a name (a
// build tool's marker such as {"type": "module"}) is no package: it yields
// nothing and no error. A manifest with a name and no version (an
// application that was never versioned, "private": true) is the
// application: a package without a version and a purl without one, as
// syft lists it.
func parsePackageJSON(r io.Reader, _ int64) ([]Package, error) {
	var m packageJSON
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("parse package.json: %w", err)
	}
	name, version := strings.TrimSpace(m.Name), strings.TrimSpace(m.Version)
	if name == "" {
		return nil, nil
	}
	ns, base := "", name
	if scope, rest, ok := strings.Cut(name, "/"); ok {
		ns, base = scope, rest
	}
	if base == "" || strings.Contains(base, "/") {
		return nil, errors.New("parse package.json: name " + fmt.Sprintf("%.60q", name) + " is not [@scope/]name")
	}
	return []Package{{
		Type:    packageurl.TypeNPM,
		Name:    name,
		Version: version,
		PURL:    packageurl.NewPackageURL(packageurl.TypeNPM, ns, base, version, nil, "").ToString(),
		License: npmLicense(m.License, m.Licenses),
	}}, nil
}

// npmLicense reads "license": "MIT", the older "license": {"type": "MIT"}
// and "licenses": [{"type": "MIT"}, …] (joined with OR).
func npmLicense(license, licenses json.RawMessage) string {
	one := func(raw json.RawMessage) string {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return strings.TrimSpace(s)
		}
		var o struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(raw, &o) == nil {
			return strings.TrimSpace(o.Type)
		}
		return ""
	}
	if l := one(license); l != "" {
		return l
	}
	var list []json.RawMessage
	if json.Unmarshal(licenses, &list) != nil {
		return ""
	}
	var out []string
	for _, raw := range list {
		if l := one(raw); l != "" {
			out = append(out, l)
		}
	}
	return anyOfLicenses(out)
}
