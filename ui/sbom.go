package ui

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

// cycloneDX is a CycloneDX 1.5 JSON BOM, as much of it as the package
// index holds.
type cycloneDX struct {
	BOMFormat   string         `json:"bomFormat"`
	SpecVersion string         `json:"specVersion"`
	Version     int            `json:"version"`
	Metadata    cdxMetadata    `json:"metadata"`
	Components  []cdxComponent `json:"components"`
}

type cdxMetadata struct {
	Component  cdxComponent  `json:"component"`
	Properties []cdxProperty `json:"properties"`
}

type cdxComponent struct {
	Type    string `json:"type"`
	BOMRef  string `json:"bom-ref"`
	Group   string `json:"group,omitempty"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	PURL    string `json:"purl,omitempty"`
}

type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// cycloneDXOf writes an image's indexed packages as CycloneDX JSON, in
// purl order: the same input gives the same bytes.
func cycloneDXOf(repo string, d hallmark.Digest, purls []string) ([]byte, error) {
	purls = slices.Clone(purls)
	slices.Sort(purls)
	doc := cycloneDX{
		BOMFormat: "CycloneDX", SpecVersion: "1.5", Version: 1,
		Metadata: cdxMetadata{
			Component: cdxComponent{Type: "container", BOMRef: repo + "@" + string(d), Name: repo, Version: string(d)},
			Properties: []cdxProperty{{
				Name:  "hallmark:source",
				Value: "the gateway's package index of the image's signed SPDX SBOM; this document is not signed: verify the SBOM attestation for proof",
			}},
		},
		Components: make([]cdxComponent, 0, len(purls)),
	}
	for _, purl := range purls {
		p, err := store.PackageOf(purl)
		if err != nil {
			p = store.Package{Name: purl}
		}
		c := cdxComponent{Type: "library", BOMRef: purl, Name: p.Name, Version: p.Version, PURL: purl}
		if p.Type != "deb" && p.Type != "apk" && p.Type != "rpm" {
			c.Group = p.Namespace
		}
		doc.Components = append(doc.Components, c)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
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
