package sbom

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/package-url/packageurl-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/hallmark-dev/hallmark"
)

// MaxParseBytes bounds the SPDX JSON that Parse accepts.
const MaxParseBytes = 64 << 20

// Parse reads an SPDX 2.3 JSON document that Hallmark wrote, such as the
// verified SBOM of a base image for WithBaseSBOM. Only the signature check
// that preceded it makes its content trustworthy. A package that CONTAINS
// another is Main, so that a document built on it repeats its
// relationships; relationships of other types are ignored.
func Parse(data []byte) (*Document, error) {
	if len(data) > MaxParseBytes {
		return nil, fmt.Errorf("%w: sbom of %d bytes is over the %d-byte limit", hallmark.ErrTooLarge, len(data), MaxParseBytes)
	}
	var doc v2_3.Document
	if err := spdxjson.ReadInto(bytes.NewReader(data), &doc); err != nil {
		return nil, fmt.Errorf("%w: parse sbom: %w", hallmark.ErrInvalid, err)
	}
	if doc.SPDXVersion != v2_3.Version {
		return nil, fmt.Errorf("%w: parse sbom: version %q, want %s", hallmark.ErrInvalid, doc.SPDXVersion, v2_3.Version)
	}
	if err := validate(&doc); err != nil {
		return nil, fmt.Errorf("%w: parse sbom: %w", hallmark.ErrInvalid, err)
	}
	d := &Document{spdx: &doc, json: bytes.Clone(data)}
	var root *v2_3.Package
	for _, r := range doc.Relationships {
		if r.Relationship == common.TypeRelationshipDescribe && r.RefA.ElementRefID == "DOCUMENT" && r.RefB.ElementRefID == rootID {
			for _, p := range doc.Packages {
				if p.PackageSPDXIdentifier == rootID {
					root = p
				}
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: parse sbom: it describes no image package %q", hallmark.ErrInvalid, rootID)
	}
	digest, err := hallmark.ParseDigest(root.PackageVersion)
	if err != nil {
		return nil, fmt.Errorf("parse sbom: image version: %w", err)
	}
	d.digest = digest
	for _, a := range root.Annotations {
		if rest, ok := strings.CutPrefix(a.AnnotationComment, annotLayer); ok {
			i, l, _ := strings.Cut(rest, " ")
			n, err := strconv.Atoi(i)
			diffID, derr := hallmark.ParseDigest(l)
			if err != nil || derr != nil || n != len(d.layers) {
				return nil, fmt.Errorf("%w: parse sbom: bad layer annotation %q", hallmark.ErrInvalid, a.AnnotationComment)
			}
			d.layers = append(d.layers, diffID)
		}
		if rest, ok := strings.CutPrefix(a.AnnotationComment, annotDistro); ok {
			id, ver, _ := strings.Cut(rest, " ")
			d.distro = &osRelease{ID: sanitizeID(id), VersionID: sanitizeID(ver)}
		}
	}
	mains := containerIDs(&doc)
	for _, p := range doc.Packages {
		if p == root {
			continue
		}
		pkg, err := parsedPackage(p)
		if err != nil {
			return nil, fmt.Errorf("%w: parse sbom: package %s: %w", hallmark.ErrInvalid, p.PackageSPDXIdentifier, err)
		}
		pkg.Main = mains[p.PackageSPDXIdentifier]
		d.packages = append(d.packages, pkg)
		d.evidenceOmitted = d.evidenceOmitted || pkg.Path == ""
	}
	return d, nil
}

// parsedPackage reads back a package that model wrote.
func parsedPackage(p *v2_3.Package) (Package, error) {
	pkg := Package{
		SPDXID:  "SPDXRef-" + string(p.PackageSPDXIdentifier),
		Name:    p.PackageName,
		Version: p.PackageVersion,
		License: p.PackageLicenseDeclared,
	}
	if pkg.License == noAssertion {
		pkg.License = strings.TrimPrefix(p.PackageLicenseComments, licenseAsIs)
	}
	for _, r := range p.PackageExternalReferences {
		if r.RefType == common.TypePackageManagerPURL {
			u, err := packageurl.FromString(r.Locator)
			if err != nil {
				return pkg, err
			}
			pkg.PURL, pkg.Type = r.Locator, u.Type
		}
	}
	if pkg.PURL == "" {
		return pkg, errors.New("no purl")
	}
	if base, ok := strings.CutPrefix(p.PackageComment, commentBase); ok {
		d, err := hallmark.ParseDigest(base)
		if err != nil {
			return pkg, err
		}
		pkg.FromBase = d
	}
	for _, a := range p.Annotations {
		rest, ok := strings.CutPrefix(a.AnnotationComment, annotEvidence)
		if !ok {
			continue
		}
		layer, path, ok := strings.Cut(strings.TrimPrefix(rest, "layer="), " path=")
		d, err := hallmark.ParseDigest(layer)
		if !ok || err != nil || !strings.HasPrefix(path, "/") {
			return pkg, fmt.Errorf("bad evidence %q", a.AnnotationComment)
		}
		pkg.Layer, pkg.Path = d, path
	}
	return pkg, nil
}

// reusableFor says why d cannot stand for the first n layers of an image
// with these diffIDs, or "" if it can.
func (d *Document) reusableFor(diffIDs []hallmark.Digest, n int) string {
	if n > len(diffIDs) {
		return fmt.Sprintf("the image has %d layers, fewer than the %d base layers", len(diffIDs), n)
	}
	if len(d.layers) != n {
		return fmt.Sprintf("it describes %d layers, not %d", len(d.layers), n)
	}
	for i := range n {
		if d.layers[i] != diffIDs[i] {
			return fmt.Sprintf("layer %d is %s in the image but %s in the base SBOM", i, diffIDs[i], d.layers[i])
		}
	}
	for _, p := range d.packages {
		if p.Path == "" {
			return "it omits the evidence of its packages"
		}
	}
	return ""
}
