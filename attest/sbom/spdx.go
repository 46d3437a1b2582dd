package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/package-url/packageurl-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/hallmark-dev/hallmark"
)

// Annotations Hallmark writes, and reads back from a base image's SBOM.
// The image package carries one "layer" annotation per layer and, if
// known, a "distro" annotation; every other package carries one
// "evidence" annotation, the only kind dropped to fit the size limit.
const (
	annotLayer    = "hallmark:layer "    // "hallmark:layer <index> <diffID>"
	annotDistro   = "hallmark:distro "   // "hallmark:distro <ID> [<VERSION_ID, else BUILD_ID>]"
	annotEvidence = "hallmark:evidence " // "hallmark:evidence layer=<diffID> path=<path>"
	commentBase   = "from verified base SBOM "
	licenseAsIs   = "declared license (not an SPDX expression): "
	namespaceBase = "https://hallmark.dev/spdx/"
	rootID        = "Image"
	noAssertion   = "NOASSERTION"
	maxWarnings   = 100 // repeated in the document comment
)

// sourceInfo says where each type of package was found.
var sourceInfo = map[string]string{
	packageurl.TypeDebian: "cataloged from the dpkg database",
	packageurl.TypeApk:    "cataloged from the apk database",
	packageurl.TypeRPM:    "cataloged from the rpm database",
	packageurl.TypeAlpm:   "cataloged from the pacman database",
	typeEbuild:            "cataloged from the Portage database",
	packageurl.TypeGolang: "cataloged from the Go build information of an executable",
	packageurl.TypeCargo:  "cataloged from the cargo auditable dependency list of an executable",
}

// docMeta is what the document says about itself.
type docMeta struct {
	imageName   string
	created     time.Time
	toolVersion string
	baseLayers  int
}

// build fills d.spdx and d.json from d's packages, dropping the evidence
// annotations if the JSON would exceed maxBytes.
func (d *Document) build(m docMeta, maxBytes int64) error {
	doc := d.model(m)
	b, err := encode(doc)
	if err != nil {
		return err
	}
	if int64(len(b)) > maxBytes {
		for _, p := range doc.Packages[1:] {
			p.Annotations = nil
		}
		d.evidenceOmitted = true
		doc.DocumentComment = d.comment(m, maxBytes)
		if b, err = encode(doc); err != nil {
			return err
		}
		if int64(len(b)) > maxBytes {
			return fmt.Errorf("%w: sbom of %d packages is %d bytes of JSON without evidence, over the %d-byte limit",
				hallmark.ErrTooLarge, len(d.packages), len(b), maxBytes)
		}
	}
	if err := validate(doc); err != nil {
		return fmt.Errorf("validate sbom: %w", err)
	}
	d.spdx, d.json = doc, b
	return nil
}

func encode(doc *v2_3.Document) ([]byte, error) {
	var buf bytes.Buffer
	if err := spdxjson.Write(doc, &buf, spdxjson.EscapeHTML(false)); err != nil {
		return nil, fmt.Errorf("encode sbom: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// model builds the SPDX document with every annotation: the image
// DESCRIBED by the document and CONTAINING every package, and each package
// CONTAINED by its nearest container too (contain.go).
func (d *Document) model(m docMeta) *v2_3.Document {
	date := m.created.Format(time.RFC3339)
	tool := common.Annotator{AnnotatorType: "Tool", Annotator: "hallmark-" + m.toolVersion}
	annotate := func(comment string) v2_3.Annotation {
		return v2_3.Annotation{Annotator: tool, AnnotationDate: date, AnnotationType: "OTHER", AnnotationComment: comment}
	}
	name := m.imageName
	if name == "" {
		name = d.digest.String()
	}
	root := &v2_3.Package{
		PackageName:               name,
		PackageSPDXIdentifier:     rootID,
		PackageVersion:            d.digest.String(),
		PackageDownloadLocation:   noAssertion,
		IsFilesAnalyzedTagPresent: true,
		PackageChecksums:          []common.Checksum{{Algorithm: common.SHA256, Value: d.digest.Hex()}},
		PackageExternalReferences: []*v2_3.PackageExternalReference{purlRef(ociPURL(m.imageName, d.digest))},
		PrimaryPackagePurpose:     "CONTAINER",
	}
	for i, l := range d.layers {
		root.Annotations = append(root.Annotations, annotate(annotLayer+strconv.Itoa(i)+" "+l.String()))
	}
	if d.distro != nil {
		root.Annotations = append(root.Annotations, annotate(strings.TrimSpace(annotDistro+d.distro.ID+" "+d.distro.VersionID)))
	}
	doc := &v2_3.Document{
		SPDXVersion:       v2_3.Version,
		DataLicense:       v2_3.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      name,
		DocumentNamespace: namespaceBase + "sha256/" + d.digest.Hex() + "/hallmark-" + url.PathEscape(m.toolVersion),
		CreationInfo: &v2_3.CreationInfo{
			Creators: []common.Creator{
				{CreatorType: "Tool", Creator: "hallmark-" + m.toolVersion},
				{CreatorType: "Organization", Creator: "Hallmark"},
			},
			Created: date,
		},
		Packages: []*v2_3.Package{root},
		Relationships: []*v2_3.Relationship{{
			RefA:         common.MakeDocElementID("", "DOCUMENT"),
			RefB:         common.MakeDocElementID("", rootID),
			Relationship: common.TypeRelationshipDescribe,
		}},
	}
	for _, p := range d.packages {
		id := strings.TrimPrefix(p.SPDXID, "SPDXRef-")
		sp := &v2_3.Package{
			PackageName:               p.Name,
			PackageSPDXIdentifier:     common.ElementID(id),
			PackageVersion:            p.Version,
			PackageDownloadLocation:   noAssertion,
			IsFilesAnalyzedTagPresent: true,
			PackageSourceInfo:         sourceInfoOf(p.Type),
			PackageExternalReferences: []*v2_3.PackageExternalReference{purlRef(p.PURL)},
		}
		if p.License != "" {
			if validLicenseExpression(p.License) {
				sp.PackageLicenseDeclared = p.License
			} else {
				sp.PackageLicenseDeclared = noAssertion
				sp.PackageLicenseComments = licenseAsIs + p.License
			}
		}
		if p.FromBase != "" {
			sp.PackageComment = commentBase + p.FromBase.String()
		}
		if p.Path != "" {
			sp.Annotations = []v2_3.Annotation{annotate(annotEvidence + "layer=" + p.Layer.String() + " path=" + p.Path)}
		}
		doc.Packages = append(doc.Packages, sp)
		doc.Relationships = append(doc.Relationships, &v2_3.Relationship{
			RefA:         common.MakeDocElementID("", rootID),
			RefB:         common.MakeDocElementID("", id),
			Relationship: common.TypeRelationshipContains,
		})
	}
	doc.Relationships = append(doc.Relationships, containsRelationships(d.packages)...)
	doc.DocumentComment = d.comment(m, 0)
	return doc
}

// comment summarises the document; maxBytes > 0 says that the evidence was
// dropped to fit that limit.
func (d *Document) comment(m docMeta, maxBytes int64) string {
	s := d.Summary()
	var b strings.Builder
	fmt.Fprintf(&b, "Hallmark cataloged %d packages in the image's final filesystem", s.Packages)
	if s.Packages > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(typeCounts(s.ByType), ", "))
	}
	b.WriteString(".")
	if m.baseLayers > 0 {
		var base hallmark.Digest
		for _, p := range d.packages {
			if p.FromBase != "" {
				base = p.FromBase
				break
			}
		}
		fmt.Fprintf(&b, " Layers 0 to %d are the base image's: %d packages were copied from its verified SBOM %s and only later layers were read.",
			m.baseLayers-1, s.FromBase, base)
	}
	if maxBytes > 0 {
		fmt.Fprintf(&b, " Every package is listed, but the per-package evidence annotations (layer and file) were omitted to keep the document within %d bytes.", maxBytes)
	}
	for i, w := range d.warnings {
		if i == maxWarnings {
			fmt.Fprintf(&b, " And %d more warnings.", len(d.warnings)-maxWarnings)
			break
		}
		b.WriteString(" Warning: " + w + ".")
	}
	return b.String()
}

func purlRef(purl string) *v2_3.PackageExternalReference {
	return &v2_3.PackageExternalReference{
		Category: common.CategoryPackageManager,
		RefType:  common.TypePackageManagerPURL,
		Locator:  purl,
	}
}

// ociPURL is pkg:oci/<last path segment>@sha256%3A<hex>?repository_url=<repo>
// for an image named "registry/path[:tag][@digest]", in the form of the
// purl specification's oci examples (and cosign and syft): the colon of the
// digest encoded, the slashes of repository_url not.
func ociPURL(imageName string, digest hallmark.Digest) string {
	repo, _, _ := strings.Cut(imageName, "@")
	if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
		repo = repo[:i]
	}
	name := strings.ToLower(repo[strings.LastIndexByte(repo, '/')+1:])
	if name == "" {
		name = "image"
	}
	purl := "pkg:oci/" + purlEscape(name, "") + "@sha256%3A" + digest.Hex()
	if repo != "" {
		purl += "?repository_url=" + purlEscape(repo, "/:")
	}
	return purl
}

// purlEscape percent-encodes s except unreserved characters and keep.
func purlEscape(s, keep string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~"+keep, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// packageID is a stable SPDX element id (without "SPDXRef-") for p:
// type, name and a hash of purl and evidence.
func packageID(p *Package) string {
	h := sha256.Sum256([]byte(p.PURL + "\x00" + string(p.Layer) + "\x00" + p.Path))
	return "Package-" + idString(p.Type, 16) + "-" + idString(p.Name, 64) + "-" + hex.EncodeToString(h[:8])
}

// idString maps s to the characters of an SPDX idstring ([A-Za-z0-9.-]),
// at most n of them.
func idString(s string, n int) string {
	b := []byte(s[:min(len(s), n)])
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}
