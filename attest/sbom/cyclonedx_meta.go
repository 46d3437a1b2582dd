package sbom

import (
	"crypto/sha1" // RFC 9562 name-based UUIDs (version 5) are SHA-1 by definition
	"encoding/hex"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// spdxPURL is the purl an SPDX package references, or "".
func spdxPURL(p *v2_3.Package) string {
	for _, r := range p.PackageExternalReferences {
		if r.RefType == common.TypePackageManagerPURL {
			return r.Locator
		}
	}
	return ""
}

// cdxTimestamp is the SPDX creation time in UTC, or "" if it is not
// RFC 3339.
func cdxTimestamp(ci *v2_3.CreationInfo) string {
	if ci == nil {
		return ""
	}
	t, err := time.Parse(time.RFC3339, ci.Created)
	if err != nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// cdxTools are the SPDX document's tool creators ("hallmark-v1.2.0" is
// hallmark, version v1.2.0), as application components.
func cdxTools(ci *v2_3.CreationInfo) *cdx.ToolsChoice {
	if ci == nil {
		return nil
	}
	var tools []cdx.Component
	for _, c := range ci.Creators {
		if c.CreatorType != "Tool" {
			continue
		}
		name, version := c.Creator, ""
		if v, ok := strings.CutPrefix(c.Creator, "hallmark-"); ok {
			name, version = "hallmark", v
		}
		tools = append(tools, cdx.Component{Type: cdx.ComponentTypeApplication, Name: name, Version: version})
	}
	if len(tools) == 0 {
		return nil
	}
	return &cdx.ToolsChoice{Components: &tools}
}

// uuidV5 is the RFC 9562 name-based (SHA-1) UUID of name in the URL
// namespace.
func uuidV5(name string) string {
	ns, _ := hex.DecodeString(uuidNamespaceURL)
	h := sha1.New()
	h.Write(ns)
	h.Write([]byte(name))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	s := hex.EncodeToString(u)
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
