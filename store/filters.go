package store

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	hallmark "github.com/hallmark-dev/hallmark"
)

// ParsePackageFilter reads the package filter of an image query, as
// QueryService and the web view take it: a package URL (its qualifiers
// and source package left out) or NAME[@VERSION], split at the last "@"
// so that npm's "@scope/name@1.0" reads as it should. Errors wrap
// hallmark.ErrInvalid.
func ParsePackageFilter(v string) (Package, error) {
	if strings.HasPrefix(v, "pkg:") {
		p, err := PackageOf(v)
		if err != nil || p.Name == "" {
			return Package{}, fmt.Errorf("%w: %q is not a package URL, pkg:type/namespace/name@version", hallmark.ErrInvalid, hallmark.Clip(v, 100))
		}
		// Qualifiers are ignored, and percent-decoding may have revealed
		// what the purl spelled otherwise.
		p.PURL, p.Source = "", ""
		return p, nil
	}
	p := Package{Name: v}
	if i := strings.LastIndexByte(v, '@'); i > 0 {
		p.Name, p.Version = v[:i], v[i+1:]
		if p.Version == "" {
			return Package{}, fmt.Errorf("%w: %q: empty version after @", hallmark.ErrInvalid, hallmark.Clip(v, 100))
		}
	}
	if p.Name == "" {
		return Package{}, fmt.Errorf("%w: no package name", hallmark.ErrInvalid)
	}
	return p, nil
}

// ParseBaseFilter reads the base filter of an image query: a digest, a
// reference by digest (its digest), or a reference by tag, normalized as
// the gateway records base references ("alpine:3.20" is
// "index.docker.io/library/alpine:3.20"). Errors wrap hallmark.ErrInvalid.
func ParseBaseFilter(v string) (digest hallmark.Digest, ref string, err error) {
	if d, err := hallmark.ParseDigest(v); err == nil {
		return d, "", nil
	}
	r, err := name.ParseReference(v)
	if err != nil {
		return "", "", fmt.Errorf("%w: %q is neither a digest nor an image reference", hallmark.ErrInvalid, hallmark.Clip(v, 100))
	}
	if d, ok := r.(name.Digest); ok {
		dg, err := hallmark.ParseDigest(d.DigestStr())
		if err != nil {
			return "", "", fmt.Errorf("%w: %q is not sha256:<64 lowercase hex>", hallmark.ErrInvalid, hallmark.Clip(d.DigestStr(), 100))
		}
		return dg, "", nil
	}
	return "", r.Name(), nil
}
