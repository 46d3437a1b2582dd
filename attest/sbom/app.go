package sbom

import (
	"io"
	"strings"
)

// Application ecosystems (Python, Node.js, Java, …) are cataloged from the
// evidence their package managers leave in the image: one small metadata
// file per installed package, found by its path. Each ecosystem is an
// appCataloger in appCatalogers; the walk reads a visible regular file with
// the first cataloger whose match accepts its path, bounded by the
// cataloger's maxBytes and the walk's per-file limit, and never follows a
// link or extracts anything.

// appCataloger reads one kind of application package evidence.
type appCataloger struct {
	// name names the cataloger in warnings: "python", "npm".
	name string
	// purlType is the purl type of what it finds; the SPDX document says
	// where such packages come from (sourceInfo).
	purlType string
	// sourceInfo is the SPDX PackageSourceInfo of its packages.
	sourceInfo string
	// match reports whether the file at the cleaned absolute path p is
	// evidence this cataloger reads.
	match func(p string) bool
	// maxBytes bounds one file (0: the walk's per-file limit).
	maxBytes int64
	// parse reads one file of at most size bytes and returns its packages
	// without evidence (the walk fills Layer and Path). A partial result
	// comes with an error, which becomes a warning.
	parse func(r io.Reader, size int64) ([]Package, error)
	// parseAt, when set, replaces parse for evidence that needs random
	// access (a zip archive's directory is at its end): the walk holds the
	// file, in memory up to holdBytes and otherwise in a temporary file,
	// and passes its cleaned absolute path. A package found inside the file
	// (a nested archive) may set Path to where it is within it, "!/a/b.jar";
	// the walk prefixes the file's path.
	parseAt   func(ra io.ReaderAt, size int64, p string) ([]Package, error)
	holdBytes int64
	// parseNamed, if set, is used instead of parse by catalogers whose
	// evidence is named after what it describes (a .NET app's
	// NAME.deps.json): p is the file's cleaned absolute path.
	parseNamed func(p string, r io.Reader, size int64) ([]Package, error)
}

// appCatalogers are the application ecosystems the walk reads, in the
// order they are tried: one line per ecosystem.
var appCatalogers = []*appCataloger{
	pythonCataloger,
	npmCataloger,
	rubyCataloger,
	composerCataloger, pearCataloger, // PHP
	javaCataloger,
	dotnetCataloger,
	rCataloger,
	luaCataloger,
	homebrewCataloger,
}

// appFor returns the cataloger that reads p, or nil.
func appFor(p string) *appCataloger {
	for _, c := range appCatalogers {
		if c.match(p) {
			return c
		}
	}
	return nil
}

// appFile is what one cataloger found in one file.
type appFile struct {
	ev   evidence
	pkgs []Package
}

// appPackages returns the application packages of files, with their
// evidence.
func appPackages(files []appFile) []Package {
	var out []Package
	for _, f := range files {
		for _, p := range f.pkgs {
			p.Layer, p.Path = f.ev.layer, f.ev.path+p.Path
			out = append(out, p)
		}
	}
	return out
}

// evidenceFile is the image file of an evidence path: "/app.jar" for
// "/app.jar!/BOOT-INF/lib/x.jar", a package inside a nested archive.
func evidenceFile(p string) string {
	f, _, _ := strings.Cut(p, "!/")
	return f
}

// sourceInfoOf says where packages of purl type t were found.
func sourceInfoOf(t string) string {
	if s, ok := sourceInfo[t]; ok {
		return s
	}
	for _, c := range appCatalogers {
		if c.purlType == t {
			return c.sourceInfo
		}
	}
	return ""
}

// anyOfLicenses joins the licenses a package lists with OR: RubyGems,
// Composer, npm's old licenses list and Maven all mean a list as a choice (Ruby's own gems list "Ruby" and
// "BSD-2-Clause", either of which applies).
func anyOfLicenses(list []string) string {
	return joinLicenses(list, " OR ")
}

// joinLicenses joins licenses with op (" OR ", " AND "); a license that
// is itself an expression is parenthesized.
func joinLicenses(list []string, op string) string {
	if len(list) > 1 {
		list = append([]string(nil), list...)
		for i, l := range list {
			if strings.ContainsAny(l, " ()") {
				list[i] = "(" + l + ")"
			}
		}
	}
	return strings.Join(list, op)
}
