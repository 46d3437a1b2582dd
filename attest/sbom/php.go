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

const (
	// maxInstalledJSONBytes bounds one Composer installed.json: a large
	// application's (hundreds of packages) is a few MiB.
	maxInstalledJSONBytes = 32 << 20
	// maxComposerPackages bounds the packages read from one installed.json.
	maxComposerPackages = 1 << 16
)

// composerCataloger reads the PHP packages Composer installed, from the
// list it keeps in <vendor-dir>/composer/installed.json: Composer 1 wrote
// an array of packages, Composer 2 writes {"packages": [...]}. syft reads
// every file named installed.json; Hallmark only the one in a composer
// directory, where Composer always writes it (whatever the vendor
// directory is called), so that another tool's installed.json is not
// taken for Composer's.
var composerCataloger = &appCataloger{
	name:       "composer",
	purlType:   packageurl.TypeComposer,
	sourceInfo: "cataloged from the installed.json of Composer",
	match:      isComposerInstalled,
	maxBytes:   maxInstalledJSONBytes,
	parse:      parseInstalledJSON,
}

// isComposerInstalled reports whether p is .../composer/installed.json.
func isComposerInstalled(p string) bool {
	dir, base := path.Split(p)
	return base == "installed.json" && path.Base(dir) == "composer"
}

// composerPackage is the part of an installed.json entry the cataloger
// reads.
type composerPackage struct {
	Name    string          `json:"name"`
	Version string          `json:"version"`
	License json.RawMessage `json:"license"`
}

// parseInstalledJSON reads the packages of one installed.json, element
// by element: a damaged entry is skipped (and named in the error), and
// the packages before damaged JSON are kept.
func parseInstalledJSON(r io.Reader, _ int64) ([]Package, error) {
	dec := json.NewDecoder(r)
	var pkgs []Package
	var errs []error
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("parse installed.json: %w", err))
			break
		}
		switch tok {
		case json.Delim('['): // Composer 1
			err = composerList(dec, &pkgs)
		case json.Delim('{'): // Composer 2
			err = composerObject(dec, &pkgs)
		default:
			err = fmt.Errorf("parse installed.json: %v is neither a list nor an object", tok)
		}
		if err != nil {
			errs = append(errs, err)
			if !errors.Is(err, errComposerEntry) {
				break
			}
		}
	}
	return pkgs, errors.Join(errs...)
}

// errComposerEntry marks an entry of a well-formed list that is no
// package; the entries after it are read.
var errComposerEntry = errors.New("installed.json entry")

// composerObject reads the members of a Composer 2 object after its '{',
// and the list of its "packages".
func composerObject(dec *json.Decoder, pkgs *[]Package) error {
	var errs []error
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("parse installed.json: %w", err))...)
		}
		key, _ := tok.(string)
		if key != "packages" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return errors.Join(append(errs, fmt.Errorf("parse installed.json: %w", err))...)
			}
			continue
		}
		tok, err = dec.Token()
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("parse installed.json: %w", err))...)
		}
		if tok != json.Delim('[') {
			return errors.Join(append(errs, errors.New("parse installed.json: packages is not a list"))...)
		}
		if err := composerList(dec, pkgs); err != nil {
			if !errors.Is(err, errComposerEntry) {
				return errors.Join(append(errs, err)...)
			}
			errs = append(errs, err)
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		errs = append(errs, fmt.Errorf("parse installed.json: %w", err))
	}
	return errors.Join(errs...)
}

// composerList reads the packages of a list after its '['.
func composerList(dec *json.Decoder, pkgs *[]Package) error {
	skipped, firstSkipped := 0, ""
	for dec.More() {
		if len(*pkgs) >= maxComposerPackages {
			return fmt.Errorf("parse installed.json: more than %d packages", maxComposerPackages)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("parse installed.json: %w", err)
		}
		var m composerPackage
		if err := json.Unmarshal(raw, &m); err != nil || strings.TrimSpace(m.Name) == "" || strings.TrimSpace(m.Version) == "" {
			if skipped++; skipped == 1 {
				firstSkipped = fmt.Sprintf("%.60s", raw)
			}
			continue
		}
		*pkgs = append(*pkgs, composerPackageOf(m))
	}
	if _, err := dec.Token(); err != nil { // ']'
		return fmt.Errorf("parse installed.json: %w", err)
	}
	if skipped > 0 {
		return fmt.Errorf("%w: %d without a name and a version (the first: %q)", errComposerEntry, skipped, firstSkipped)
	}
	return nil
}

// composerPackageOf is the package of one entry. Its purl is built as
// syft builds it: "vendor/name" is namespace and name, a name of more
// parts keeps the first as namespace and joins the others with "-".
func composerPackageOf(m composerPackage) Package {
	name, version := strings.TrimSpace(m.Name), strings.TrimSpace(m.Version)
	ns, base := "", name
	if parts := strings.Split(name, "/"); len(parts) > 1 {
		ns, base = parts[0], strings.Join(parts[1:], "-")
	}
	return Package{
		Type:    packageurl.TypeComposer,
		Name:    name,
		Version: version,
		PURL:    packageurl.NewPackageURL(packageurl.TypeComposer, ns, base, version, nil, "").ToString(),
		License: composerLicense(m.License),
	}
}

// composerLicense reads "license": "MIT" or "license": ["MIT", …], which
// Composer defines as a choice (joined with OR).
func composerLicense(raw json.RawMessage) string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return strings.TrimSpace(one)
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return ""
	}
	var out []string
	for _, l := range list {
		if json.Unmarshal(l, &one) == nil && strings.TrimSpace(one) != "" {
			out = append(out, strings.TrimSpace(one))
		}
	}
	return anyOfLicenses(out)
}
