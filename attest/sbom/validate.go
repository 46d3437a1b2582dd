package sbom

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
	"github.com/spdx/tools-golang/spdxlib"
)

// validate checks doc with tools-golang's spdxlib.ValidateDocument, which
// only checks that relationships name existing elements, and then itself
// checks the fields SPDX 2.3 requires (document creation information,
// package name, SPDXID, download location, files analyzed without a
// verification code, external references, annotations) and that SPDXIDs
// are unique idstrings.
func validate(doc *v2_3.Document) error {
	if err := spdxlib.ValidateDocument(doc); err != nil {
		return err
	}
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(doc.SPDXVersion == v2_3.Version, "spdxVersion is %q", doc.SPDXVersion)
	check(doc.DataLicense == v2_3.DataLicense, "dataLicense is %q", doc.DataLicense)
	check(doc.SPDXIdentifier == "DOCUMENT", "document SPDXID is %q", doc.SPDXIdentifier)
	check(doc.DocumentName != "", "document has no name")
	u, err := url.Parse(doc.DocumentNamespace)
	check(err == nil && u.IsAbs() && u.Fragment == "" && !strings.Contains(doc.DocumentNamespace, "#"),
		"documentNamespace %q is not an absolute URI without a fragment", doc.DocumentNamespace)
	ci := doc.CreationInfo
	check(ci != nil, "document has no creationInfo")
	if ci != nil {
		_, err := time.Parse("2006-01-02T15:04:05Z", ci.Created)
		check(err == nil, "created %q is not YYYY-MM-DDThh:mm:ssZ", ci.Created)
		check(len(ci.Creators) > 0, "document has no creators")
		for _, c := range ci.Creators {
			check(c.Creator != "" && (c.CreatorType == "Tool" || c.CreatorType == "Organization" || c.CreatorType == "Person"),
				"creator %q of type %q is invalid", c.Creator, c.CreatorType)
		}
	}
	ids := map[common.ElementID]bool{"DOCUMENT": true}
	for _, p := range doc.Packages {
		id := p.PackageSPDXIdentifier
		check(idstring(string(id)), "package SPDXID %q is not an idstring", id)
		check(!ids[id], "package SPDXID %q is not unique", id)
		ids[id] = true
		check(p.PackageName != "", "package %s has no name", id)
		check(p.PackageDownloadLocation != "", "package %s has no downloadLocation", id)
		check(p.FilesAnalyzed || p.PackageVerificationCode == nil, "package %s has a verification code but no files analyzed", id)
		for _, r := range p.PackageExternalReferences {
			check(r.Category != "" && r.RefType != "" && r.Locator != "" && !strings.ContainsAny(r.Locator, " \t\n"),
				"package %s has an invalid external reference %q", id, r.Locator)
		}
		for _, a := range p.Annotations {
			check(a.Annotator.Annotator != "" && a.AnnotationComment != "" &&
				(a.AnnotationType == "OTHER" || a.AnnotationType == "REVIEW"),
				"package %s has an invalid annotation", id)
		}
		if l := p.PackageLicenseDeclared; l != "" && l != noAssertion && l != "NONE" {
			check(validLicenseExpression(l), "package %s declares license %q, not an SPDX expression", id, l)
		}
	}
	return errors.Join(errs...)
}
