package ui

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

// cycloneDXOf writes an image's indexed packages as CycloneDX 1.6 JSON
// (the CycloneDX library's types, as attest/sbom's conversion of the
// signed SBOM uses), in purl order: the same input gives the same bytes.
func cycloneDXOf(repo string, d hallmark.Digest, purls []string) ([]byte, error) {
	purls = slices.Clone(purls)
	slices.Sort(purls)
	bom := cdx.NewBOM()
	bom.SpecVersion = cdx.SpecVersion1_6
	bom.Metadata = &cdx.Metadata{
		Component: &cdx.Component{Type: cdx.ComponentTypeContainer, BOMRef: repo + "@" + string(d), Name: repo, Version: string(d)},
		Properties: &[]cdx.Property{{
			Name:  "hallmark:source",
			Value: "the gateway's package index of the image's signed SPDX SBOM; this document is not signed: verify the SBOM attestation for proof",
		}},
	}
	comps := make([]cdx.Component, 0, len(purls))
	for _, purl := range purls {
		p, err := store.PackageOf(purl)
		if err != nil {
			p = store.Package{Name: purl}
		}
		c := cdx.Component{Type: cdx.ComponentTypeLibrary, BOMRef: purl, Name: p.Name, Version: p.Version, PackageURL: purl}
		if p.Type != "deb" && p.Type != "apk" && p.Type != "rpm" {
			c.Group = p.Namespace
		}
		comps = append(comps, c)
	}
	bom.Components = &comps
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON).SetPretty(true).SetEscapeHTML(false)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return nil, fmt.Errorf("encode cyclonedx bom: %w", err)
	}
	return buf.Bytes(), nil
}

// serveCycloneDX sends an image's packages as a CycloneDX download.
func (h *handler) serveCycloneDX(w http.ResponseWriter, r *http.Request, repo string, d hallmark.Digest) {
	purls, err := h.deps.Store.ImagePackages(r.Context(), repo, d)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	if len(purls) == 0 {
		// An image the store never recorded has no packages either.
		if _, err := h.deps.Store.Image(r.Context(), repo, d); err != nil {
			h.failErr(w, r, err)
			return
		}
	}
	body, err := cycloneDXOf(repo, d, purls)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	name := strings.ReplaceAll(repo[strings.LastIndex(repo, "/")+1:], `"`, "") + "-" + d.Hex()[:12] + ".cdx.json"
	w.Header().Set("Content-Type", "application/vnd.cyclonedx+json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	_, _ = w.Write(body)
}
