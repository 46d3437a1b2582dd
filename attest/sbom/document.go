package sbom

import (
	"bytes"
	"cmp"
	"errors"
	"maps"
	"slices"
	"strconv"

	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/hallmark-dev/hallmark"
)

// Document is the SPDX 2.3 SBOM of one image, with its JSON encoding.
type Document struct {
	spdx            *v2_3.Document
	json            []byte
	digest          hallmark.Digest
	layers          []hallmark.Digest // diffIDs, bottom first
	distro          *osRelease
	packages        []Package // sorted by SPDXID
	warnings        []string
	evidenceOmitted bool
}

// Package is one package found in an image.
type Package struct {
	// SPDXID is the package's SPDX identifier ("SPDXRef-Package-…"),
	// derived from its purl and evidence so that it is stable.
	SPDXID string
	// Type is the purl type: "deb", "apk", "rpm", "alpm", "golang",
	// "cargo", "pypi", "npm", "gem", "composer", "pear", "maven", "nuget",
	// "cran" or "luarocks".
	Type string
	// Name and Version are as the package manager records them; an rpm
	// version is "[epoch:]version-release", a Go module's name is its path
	// and the standard library is "stdlib".
	Name    string
	Version string
	// PURL is the package URL.
	PURL string
	// License is the license the package declares, as written (apk and rpm
	// only).
	License string
	// Layer is the diffID of the layer holding the evidence, and Path the
	// file: a package database, the Go executable, a metadata file; for a
	// package inside an archive nested in the file, its place in it after
	// "!/" per level ("/app/shop.jar!/BOOT-INF/lib/x.jar").
	Layer hallmark.Digest
	Path  string
	// Main says that the package is what the evidence file at Path is
	// itself: a Java archive's own package, a Go executable's main module,
	// a Rust executable's root crate. The file's other packages, and those
	// of archives nested in it, are contained in it; the SPDX document says
	// so with a CONTAINS relationship from it. Parse sets it for the
	// packages that contain another.
	Main bool
	// FromBase is the digest of the base image whose verified SBOM listed
	// the package, when it was copied from there.
	FromBase hallmark.Digest
}

// Summary counts the packages of a document.
type Summary struct {
	// Packages counts every package except the image itself.
	Packages int
	// ByType counts packages by purl type ("deb", "apk", "rpm", "golang", …).
	ByType map[string]int
	// FromBase counts the packages copied from a base image's SBOM.
	FromBase int
	// EvidenceOmitted says that the per-package evidence annotations were
	// dropped to fit the document size limit.
	EvidenceOmitted bool
	// Warnings counts the files that could not be cataloged completely.
	Warnings int
}

// JSON returns the document as SPDX 2.3 JSON, the predicate of an
// in-toto statement of type hallmark.PredicateSPDX.
func (d *Document) JSON() ([]byte, error) {
	if d == nil || d.json == nil {
		return nil, errors.New("encode sbom: empty document")
	}
	return bytes.Clone(d.json), nil
}

// SPDX returns the document model. It is shared: callers must not modify it.
func (d *Document) SPDX() *v2_3.Document { return d.spdx }

// Digest returns the manifest digest of the image the document describes.
func (d *Document) Digest() hallmark.Digest { return d.digest }

// PURLs returns the package URLs of the document's packages, in SPDX id
// order; a purl that several packages share is listed once.
func (d *Document) PURLs() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range d.packages {
		if p.PURL != "" && !seen[p.PURL] {
			seen[p.PURL] = true
			out = append(out, p.PURL)
		}
	}
	return out
}

// Layers returns the diffIDs of the image's layers, bottom first.
func (d *Document) Layers() []hallmark.Digest { return slices.Clone(d.layers) }

// Packages returns the packages, sorted by SPDXID.
func (d *Document) Packages() []Package { return slices.Clone(d.packages) }

// Warnings returns what could not be cataloged completely: damaged
// databases, files over a size limit, unsupported Go executables. The
// document comment repeats them.
func (d *Document) Warnings() []string { return slices.Clone(d.warnings) }

// Summary counts the document's packages.
func (d *Document) Summary() Summary {
	s := Summary{ByType: map[string]int{}, EvidenceOmitted: d.evidenceOmitted, Warnings: len(d.warnings)}
	for _, p := range d.packages {
		s.Packages++
		s.ByType[p.Type]++
		if p.FromBase != "" {
			s.FromBase++
		}
	}
	return s
}

// dedupe sorts packages by SPDXID (assigning it) and drops repeats, such as
// a paragraph listed twice in one database.
func dedupe(pkgs []Package) []Package {
	for i := range pkgs {
		pkgs[i].SPDXID = "SPDXRef-" + packageID(&pkgs[i])
	}
	slices.SortFunc(pkgs, func(a, b Package) int {
		if c := cmp.Compare(a.SPDXID, b.SPDXID); c != 0 {
			return c
		}
		if c := cmp.Compare(a.FromBase, b.FromBase); c != 0 {
			return c
		}
		return -cmp.Compare(btoi(a.Main), btoi(b.Main)) // a repeat that is Main is kept
	})
	return slices.CompactFunc(pkgs, func(a, b Package) bool { return a.SPDXID == b.SPDXID })
}

// typeCounts lists "N type" for the document comment, in type order.
func typeCounts(byType map[string]int) []string {
	var out []string
	for _, t := range slices.Sorted(maps.Keys(byType)) {
		out = append(out, strconv.Itoa(byType[t])+" "+t)
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
