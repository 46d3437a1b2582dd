package sbom

import (
	"strings"

	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/hallmark-dev/hallmark"
)

// Containment: the image CONTAINS every package, and a package found in a
// file, or in an archive nested in it, is also CONTAINED by its nearest
// container, a Main package of its purl type in the same layer:
//
//   - a package that is not Main, by the Main package with its evidence
//     (a shaded jar's pom.properties by the jar's own package, a Go module
//     and the standard library by the main module, a crate by the root
//     crate);
//   - else (a Main package, or no Main package with its evidence) by the
//     Main package of the archive it is nested in, one "!/" level up, and
//     so on to the file itself (a jar in BOOT-INF/lib by the Spring Boot
//     jar's own package).
//
// A package without one (a dpkg package, a jar of its own) is contained by
// the image only. The type matters for an executable that is both Go and
// Rust (a Go program linking a Rust library built with cargo auditable):
// its modules are the main module's, its crates the root crate's. It also
// keeps base SBOM reuse exact: Parse reads back as Main only the packages
// that contain another, and a Main package that contains nothing, read
// back as not Main, finds the same container as before since no other
// Main package of its type shares its evidence.

// evidenceKey is where a package of a purl type was found.
type evidenceKey struct {
	layer     hallmark.Digest
	path, typ string
}

// containers returns, for each of pkgs (sorted by SPDXID), the index of the
// package that contains it, or -1. Should several Main packages of one
// type share evidence (which no cataloger yields), the first by SPDXID is
// the container, so the result is deterministic all the same.
func containers(pkgs []Package) []int {
	mains := map[evidenceKey]int{}
	for i, p := range pkgs {
		k := evidenceKey{p.Layer, p.Path, p.Type}
		if _, dup := mains[k]; p.Main && p.Path != "" && !dup {
			mains[k] = i
		}
	}
	out := make([]int, len(pkgs))
	for i, p := range pkgs {
		out[i] = -1
		if p.Path == "" {
			continue // evidence unknown
		}
		k := evidenceKey{p.Layer, p.Path, p.Type}
		if c, ok := mains[k]; ok && !p.Main {
			out[i] = c
			continue
		}
		for out[i] < 0 {
			cut := strings.LastIndex(k.path, "!/")
			if cut < 0 {
				break
			}
			k.path = k.path[:cut]
			if c, ok := mains[k]; ok {
				out[i] = c
			}
		}
	}
	return out
}

// containsRelationships are the CONTAINS relationships of pkgs' nearest
// containers, in the order of the contained packages.
func containsRelationships(pkgs []Package) []*v2_3.Relationship {
	var out []*v2_3.Relationship
	for i, c := range containers(pkgs) {
		if c < 0 {
			continue
		}
		out = append(out, &v2_3.Relationship{
			RefA:         common.MakeDocElementID("", strings.TrimPrefix(pkgs[c].SPDXID, "SPDXRef-")),
			RefB:         common.MakeDocElementID("", strings.TrimPrefix(pkgs[i].SPDXID, "SPDXRef-")),
			Relationship: common.TypeRelationshipContains,
		})
	}
	return out
}

// containerIDs are the packages that a document's CONTAINS relationships
// name as the container of another, the image aside: the Main packages,
// for Parse. Other relationships, and references to other documents, are
// ignored.
func containerIDs(doc *v2_3.Document) map[common.ElementID]bool {
	ids := map[common.ElementID]bool{}
	for _, r := range doc.Relationships {
		a := r.RefA
		if r.Relationship == common.TypeRelationshipContains && a.DocumentRefID == "" && a.SpecialID == "" &&
			a.ElementRefID != rootID && r.RefB.DocumentRefID == "" && r.RefB.SpecialID == "" {
			ids[a.ElementRefID] = true
		}
	}
	return ids
}
