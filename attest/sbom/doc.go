// Package sbom describes what an image contains as an SPDX 2.3 document,
// the predicate of Hallmark's https://spdx.dev/Document attestations.
//
// Generate reads the layers of a go-containerregistry v1.Image from the top
// down, applying OCI whiteouts (.wh.<name> and .wh..wh..opq), and reads only
// the files of the final filesystem that a cataloger needs:
//
//   - dpkg: /var/lib/dpkg/status (installed packages only) and the
//     per-package files of distroless images, /var/lib/dpkg/status.d/*;
//     purl pkg:deb/<os id>/<name>@<version>?arch=…&distro=<id>-<version id>.
//   - apk (Alpine, Wolfi): /lib/apk/db/installed and /usr/lib/apk/db/installed;
//     purl pkg:apk/<os id>/<name>@<version>?arch=….
//   - rpm: rpmdb.sqlite, Packages.db (NDB) and Packages (Berkeley DB) under
//     /var/lib/rpm, /usr/lib/sysimage/rpm and /usr/share/rpm;
//     purl pkg:rpm/<os id>/<name>@<version>-<release>?arch=…&epoch=….
//   - pacman (Arch Linux): /var/lib/pacman/local/<name>-<version>/desc;
//     purl pkg:alpm/<os id>/<name>@<version>?arch=…&distro=…&upstream=<base>.
//   - Portage (Gentoo): /var/db/pkg/<category>/<name>-<version>/CONTENTS,
//     named by its directory, and the LICENSE beside it;
//     purl pkg:ebuild/<category>%2F<name>@<version>.
//   - Go: every executable ELF file with Go build information (Go 1.18 or
//     later): its main module, every dependency module (replacements applied)
//     and the standard library as pkg:golang/stdlib@<go version>.
//   - Rust: every executable ELF file with a cargo auditable dependency
//     list (.dep-v0), read in the same pass: its runtime crates,
//     pkg:cargo/<name>@<version>.
//   - Application ecosystems, one metadata file per package (app.go):
//     Python (pkg:pypi), Node.js (pkg:npm), Ruby (pkg:gem), PHP
//     (pkg:composer, pkg:pear), Java archives (pkg:maven), .NET
//     deps.json (pkg:nuget), R's DESCRIPTION (pkg:cran), Lua rockspecs
//     (pkg:luarocks, read as Lua without running it) and the formulae of
//     Homebrew kegs (pkg:brew).
//
// The OS id and version come from /etc/os-release (or /usr/lib/os-release;
// BUILD_ID stands for a missing VERSION_ID, as on Arch Linux).
// The image is the root package (pkg:oci/…), which the document DESCRIBES
// and which CONTAINS every other package, so that a reader of the flat list
// needs nothing else. A package found in a file that is a package itself
// (Package.Main: a Java archive's own package, a Go executable's main
// module, a Rust executable's root crate) is also CONTAINED by that
// package, or, for a package of a nested archive, by the nearest enclosing
// archive's: the jars of a Spring Boot jar and its shaded dependencies by
// the jar's own package, a Go executable's modules and standard library by
// its main module, a Rust executable's crates by its root crate. Each
// package carries an annotation naming the layer (diffID) and file that
// evidenced it.
//
// The image is untrusted input: layers, files, executables and the JSON
// document are bounded by options, symbolic links are never followed, and a
// damaged database yields a partial result stated in the document's
// warnings instead of an error or a crash. Parse reads a document back, and
// WithBaseSBOM reuses a base image's verified SBOM so that only the layers
// a build added are read.
//
// Document.CycloneDX converts a document, typically one Parse read from a
// verified attestation, to a CycloneDX 1.6 BOM with the same packages and
// purls (the containment as its dependency graph, scan findings as its
// vulnerabilities with WithFindings), and EncodeCycloneDX writes it as
// JSON; the conversion is deterministic.
package sbom
