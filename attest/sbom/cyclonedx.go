package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// CycloneDX properties Hallmark writes (docs/sbom.md, "CycloneDX").
const (
	propLayer           = "hallmark:layer"                   // a package's evidence layer (diffID)
	propImageLayer      = "hallmark:layer:"                  // "hallmark:layer:<index>" of the image, bottom first
	propDistro          = "hallmark:distro"                  // "<ID> [<VERSION_ID>]" of the image
	propSourceInfo      = "hallmark:sourceInfo"              // the SPDX package's sourceInfo
	propFromBase        = "hallmark:fromBase"                // the base image whose verified SBOM listed the package
	propWarning         = "hallmark:warning"                 // what could not be cataloged completely
	propEvidenceOmitted = "hallmark:evidenceOmitted"         // "true" when the SPDX document dropped the evidence
	propSPDXNamespace   = "hallmark:spdx:namespace"          // the SPDX document converted
	propSPDXSHA256      = "hallmark:spdx:sha256"             // the SHA-256 of its JSON
	cdxImageRef         = "SPDXRef-" + rootID                // the image component's bom-ref
	uuidNamespaceURL    = "6ba7b8119dad11d180b400c04fd430c8" // RFC 9562's NameSpace_URL
)

// CycloneDXOption configures CycloneDX.
type CycloneDXOption func(*cdxConfig)

type cdxConfig struct {
	findings []Finding
}

// WithFindings adds the vulnerability findings of a scan of the document's
// packages (vuln.DB's Scan or Match, converted) as the BOM's vulnerabilities, each
// affecting the components with the finding's purl. A finding whose purl
// no package of the document has is an error. The default is no
// vulnerabilities: the BOM then says nothing about them, not that there
// are none.
func WithFindings(findings []Finding) CycloneDXOption {
	return func(c *cdxConfig) { c.findings = findings }
}

// CycloneDX returns the document as a CycloneDX BOM for EncodeCycloneDX:
// the image as metadata.component and each package as a library
// component whose bom-ref is its SPDX id and whose name, version, purl and
// license are the SPDX package's. Every package is a top-level component,
// so that a reader that does not walk nested components sees all of them;
// the SPDX document's containment is the dependency graph (a package that
// another CONTAINS is in that one's dependsOn, the image depends on the
// others). The serial number is derived from the image digest and the SPDX
// JSON, so the same document converts to the same BOM.
func (d *Document) CycloneDX(opts ...CycloneDXOption) (*cdx.BOM, error) {
	if d == nil || d.spdx == nil {
		return nil, errors.New("convert sbom to cyclonedx: empty document")
	}
	var c cdxConfig
	for _, o := range opts {
		o(&c)
	}
	root := d.rootPackage()
	if root == nil {
		return nil, fmt.Errorf("convert sbom to cyclonedx: no image package %q", rootID)
	}
	sum := sha256.Sum256(d.json)
	bom := cdx.NewBOM()
	bom.SpecVersion = cdx.SpecVersion1_6
	bom.SerialNumber = "urn:uuid:" + uuidV5(namespaceBase+"sha256/"+d.digest.Hex()+"/cyclonedx/"+hex.EncodeToString(sum[:]))
	bom.Metadata = &cdx.Metadata{
		Timestamp:  cdxTimestamp(d.spdx.CreationInfo),
		Lifecycles: &[]cdx.Lifecycle{{Phase: cdx.LifecyclePhasePostBuild}},
		Tools:      cdxTools(d.spdx.CreationInfo),
		Component:  d.imageComponent(root),
		Properties: d.metadataProperties(hex.EncodeToString(sum[:])),
	}
	comps, deps := d.components()
	if len(comps) > 0 {
		bom.Components = &comps
	}
	bom.Dependencies = &deps
	if len(c.findings) > 0 {
		vulns, err := d.vulnerabilities(c.findings)
		if err != nil {
			return nil, fmt.Errorf("convert sbom to cyclonedx: %w", err)
		}
		bom.Vulnerabilities = &vulns
	}
	return bom, nil
}

// EncodeCycloneDX encodes bom as CycloneDX 1.6 JSON, indented, without
// HTML escapes, ending in a newline.
func EncodeCycloneDX(bom *cdx.BOM) ([]byte, error) {
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON).SetPretty(true).SetEscapeHTML(false)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return nil, fmt.Errorf("encode cyclonedx bom: %w", err)
	}
	return buf.Bytes(), nil
}

// rootPackage is the image package of the SPDX document.
func (d *Document) rootPackage() *v2_3.Package {
	for _, p := range d.spdx.Packages {
		if p.PackageSPDXIdentifier == rootID {
			return p
		}
	}
	return nil
}

// imageComponent is metadata.component: the image, a container named as in
// the SPDX document, its version the manifest digest.
func (d *Document) imageComponent(root *v2_3.Package) *cdx.Component {
	c := &cdx.Component{
		BOMRef:     cdxImageRef,
		Type:       cdx.ComponentTypeContainer,
		Name:       root.PackageName,
		Version:    d.digest.String(),
		PackageURL: spdxPURL(root),
		Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: d.digest.Hex()}},
	}
	var props []cdx.Property
	for i, l := range d.layers {
		props = append(props, cdx.Property{Name: propImageLayer + strconv.Itoa(i), Value: l.String()})
	}
	if d.distro != nil {
		props = append(props, cdx.Property{Name: propDistro, Value: strings.TrimSpace(d.distro.ID + " " + d.distro.VersionID)})
	}
	if len(props) > 0 {
		c.Properties = &props
	}
	return c
}

// metadataProperties name the SPDX document converted and repeat its
// warnings.
func (d *Document) metadataProperties(spdxSHA256 string) *[]cdx.Property {
	props := []cdx.Property{
		{Name: propSPDXNamespace, Value: d.spdx.DocumentNamespace},
		{Name: propSPDXSHA256, Value: spdxSHA256},
	}
	if d.evidenceOmitted {
		props = append(props, cdx.Property{Name: propEvidenceOmitted, Value: "true"})
	}
	for _, w := range d.warnings {
		props = append(props, cdx.Property{Name: propWarning, Value: w})
	}
	return &props
}

// component is p as a CycloneDX library.
func component(p Package) cdx.Component {
	c := cdx.Component{
		BOMRef:     p.SPDXID,
		Type:       cdx.ComponentTypeLibrary,
		Name:       p.Name,
		Version:    p.Version,
		PackageURL: p.PURL,
	}
	if p.License != "" {
		if validLicenseExpression(p.License) {
			c.Licenses = &cdx.Licenses{{Expression: p.License}}
		} else {
			c.Licenses = &cdx.Licenses{{License: &cdx.License{Name: p.License}}}
		}
	}
	var props []cdx.Property
	if s := sourceInfoOf(p.Type); s != "" {
		props = append(props, cdx.Property{Name: propSourceInfo, Value: s})
	}
	if p.FromBase != "" {
		props = append(props, cdx.Property{Name: propFromBase, Value: p.FromBase.String()})
	}
	if p.Path != "" {
		c.Evidence = &cdx.Evidence{Occurrences: &[]cdx.EvidenceOccurrence{{Location: p.Path}}}
		props = append(props, cdx.Property{Name: propLayer, Value: p.Layer.String()})
	}
	if len(props) > 0 {
		c.Properties = &props
	}
	return c
}

// components are the packages as components, flat and in SPDX id order,
// and the dependency graph of containment: the image depends on every
// package no other package contains, a container on the packages it
// contains (containedBy). Other packages are left out of the graph: their
// dependencies are unknown, not none.
func (d *Document) components() ([]cdx.Component, []cdx.Dependency) {
	parent := containedBy(d.spdx)
	comps := make([]cdx.Component, 0, len(d.packages))
	contains := map[string][]string{}
	for _, p := range d.packages {
		comps = append(comps, component(p))
		c, ok := parent[p.SPDXID]
		if !ok {
			c = cdxImageRef
		}
		contains[c] = append(contains[c], p.SPDXID)
	}
	top := contains[cdxImageRef] // none: the image is an empty element of the graph, depending on nothing
	deps := []cdx.Dependency{{Ref: cdxImageRef, Dependencies: &top}}
	for _, p := range d.packages {
		if refs := contains[p.SPDXID]; len(refs) > 0 {
			deps = append(deps, cdx.Dependency{Ref: p.SPDXID, Dependencies: &refs})
		}
	}
	return comps, deps
}

// containedBy maps the SPDX id of each package that another package (not
// the image) CONTAINS to that container's, both with "SPDXRef-". Hallmark
// writes one container per package and no cycle; for any other document,
// the first container in relationship order that does not make a cycle
// wins, so that the graph stays a tree.
func containedBy(doc *v2_3.Document) map[string]string {
	ids := map[common.ElementID]bool{}
	for _, p := range doc.Packages {
		ids[p.PackageSPDXIdentifier] = true
	}
	parent := map[string]string{}
	for _, r := range doc.Relationships {
		a, b := r.RefA, r.RefB
		if r.Relationship != common.TypeRelationshipContains || a.DocumentRefID != "" || b.DocumentRefID != "" ||
			a.ElementRefID == rootID || b.ElementRefID == rootID || !ids[a.ElementRefID] || !ids[b.ElementRefID] {
			continue
		}
		child, container := "SPDXRef-"+string(b.ElementRefID), "SPDXRef-"+string(a.ElementRefID)
		if _, done := parent[child]; done {
			continue
		}
		cycle := false
		for c, n := container, 0; c != "" && !cycle && n <= len(parent); c, n = parent[c], n+1 {
			cycle = c == child
		}
		if !cycle {
			parent[child] = container
		}
	}
	return parent
}
