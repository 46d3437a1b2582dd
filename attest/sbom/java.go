package sbom

import (
	"archive/zip"
	"bufio"
	"bytes"
	_ "embed"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/package-url/packageurl-go"
)

// Java archives are zip files: the cataloger opens each one with
// archive/zip (it needs random access, so the walk holds the file) and
// reads only a few small entries, bounded here, never trusting a declared
// size: the manifest, the pom.properties Maven writes for every artifact,
// and the archives nested inside (Spring Boot's BOOT-INF/lib, a war's
// WEB-INF/lib), read from the outer archive in memory.
const (
	// maxJarHoldBytes is the largest archive held in memory; a larger one
	// (up to the walk's per-file limit) goes to a temporary file.
	maxJarHoldBytes = 64 << 20
	// maxJarNestedBytes bounds one nested archive, read into memory.
	maxJarNestedBytes = 64 << 20
	// maxJarInflateBytes bounds the bytes decompressed for one archive in
	// the image, everything nested in it included (zip bombs).
	maxJarInflateBytes = 512 << 20
	// maxJarEntries bounds the entries of one archive in the image, those
	// of its nested archives included.
	maxJarEntries = 1 << 18
	// maxJarDepth is how deep archives nested in archives are opened.
	maxJarDepth = 4
	// maxJarMetaBytes bounds a manifest or a pom.properties.
	maxJarMetaBytes = 1 << 20
	// maxJarPomProperties bounds the pom.properties read in one archive.
	maxJarPomProperties = 4096
	// maxJarErrors is how many problems one archive's warning names.
	maxJarErrors = 5
)

// javaCataloger reads Java archives (jar, war, ear, Jenkins plugins, …) as
// syft does: the archive's own package from its manifest and the
// pom.properties that matches its file name, every other pom.properties
// as a package of its own (a shaded jar), and the archives nested in it.
// A .zip file is no Java archive, but the Java archives in it are read
// (a distribution zip of an application, as syft reads them).
var javaCataloger = &appCataloger{
	name:       "java",
	purlType:   packageurl.TypeMaven,
	sourceInfo: "cataloged from the manifest and pom.properties of a Java archive",
	match:      func(p string) bool { return isJavaArchive(p) || path.Ext(p) == ".zip" },
	parseAt:    parseJavaArchive,
	holdBytes:  maxJarHoldBytes,
}

// javaArchiveExts are the extensions syft opens as Java archives.
var javaArchiveExts = []string{".jar", ".war", ".ear", ".par", ".sar", ".nar", ".jpi", ".hpi", ".kar", ".far", ".lpkg", ".rar", ".zap"}

// isJavaArchive reports whether the file (or archive entry) p is named as
// a Java archive; like syft's globs, the extension is case-sensitive.
func isJavaArchive(p string) bool {
	return slices.Contains(javaArchiveExts, path.Ext(p))
}

// jarScan is the state of one archive of the image and everything nested
// in it.
type jarScan struct {
	inflate int64 // decompressed bytes left
	entries int   // entries left
	errs    []string
	nerrs   int
	pkgs    []Package
}

func (s *jarScan) fail(where string, err error) {
	s.nerrs++
	if len(s.errs) < maxJarErrors {
		if where != "" {
			err = fmt.Errorf("%s: %w", where, err)
		}
		s.errs = append(s.errs, err.Error())
	}
}

func (s *jarScan) err() error {
	if s.nerrs == 0 {
		return nil
	}
	msg := strings.Join(s.errs, "; ")
	if s.nerrs > len(s.errs) {
		msg += fmt.Sprintf("; and %d more", s.nerrs-len(s.errs))
	}
	return errors.New(msg)
}

// parseJavaArchive reads the archive of size bytes at path p and the
// archives nested in it. Packages of nested archives have Path set to
// their place inside it ("!/BOOT-INF/lib/x.jar"). A damaged or oversized
// part yields the packages found elsewhere and an error.
func parseJavaArchive(ra io.ReaderAt, size int64, p string) ([]Package, error) {
	s := &jarScan{inflate: maxJarInflateBytes, entries: maxJarEntries}
	s.archive(ra, size, path.Base(p), "", 0)
	return s.pkgs, s.err()
}

// archive reads one archive named name (for the file-name fallbacks) at
// nested path at (empty for the image's file) and depth.
func (s *jarScan) archive(ra io.ReaderAt, size int64, name, at string, depth int) {
	n, err := zipEntryCount(ra, size)
	if err != nil {
		s.fail(strings.TrimPrefix(at, "!/"), err)
		return
	}
	if n > uint64(max(s.entries, 0)) {
		s.fail(strings.TrimPrefix(at, "!/"), fmt.Errorf("archive of %d entries is over the limit of %d entries per archive", n, maxJarEntries))
		return
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are never used as paths here
		s.fail(strings.TrimPrefix(at, "!/"), fmt.Errorf("read zip: %w", err))
		return
	}
	s.entries -= len(zr.File)
	a := &jarArchive{s: s, zr: zr, name: name, at: at}
	if isJavaArchive(name) {
		for _, p := range a.packages() {
			p.Path = at
			s.pkgs = append(s.pkgs, p)
		}
	}
	a.nested(depth)
}

// jarArchive is one open archive.
type jarArchive struct {
	s    *jarScan
	zr   *zip.Reader
	name string // base name, for syft's file-name fallbacks
	at   string // nested path, "" or "!/a.jar!/b.jar"
}

// javaPkg is a package being identified, as syft's JavaArchive metadata.
type javaPkg struct {
	name, version string
	manifest      *javaManifest
	props         *pomProperties
	license       string
}

// packages identifies the archive's own package (Main) and those of its
// pom.properties, as syft's archiveParser.parse does.
func (a *jarArchive) packages() []Package {
	files := map[string]*zip.File{}
	var propsNames []string
	poms := map[string]*zip.File{} // directory to the pom.xml in it
	for _, f := range a.zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		n := strings.TrimPrefix(f.Name, "/")
		if _, dup := files[n]; !dup {
			files[n] = f
		}
		switch base := path.Base(n); {
		case strings.HasSuffix(base, "pom.properties"):
			propsNames = append(propsNames, n)
		case strings.HasSuffix(base, "pom.xml"):
			if poms[path.Dir(n)] == nil {
				poms[path.Dir(n)] = f
			}
		}
	}
	mf := files["META-INF/MANIFEST.MF"]
	if mf == nil {
		return nil // syft lists no package for an archive without a manifest
	}
	b, err := a.read(mf, maxJarMetaBytes)
	if err != nil {
		a.s.fail(a.where("META-INF/MANIFEST.MF"), err)
		return nil
	}
	m := parseJavaManifest(b)
	if _, ok := m.get("Weave-Classes"); ok {
		return nil // an instrumentation jar named like what it instruments
	}

	slices.Sort(propsNames)
	propsNames = slices.Compact(propsNames)
	if len(propsNames) > maxJarPomProperties {
		a.s.fail(a.where(""), fmt.Errorf("%d pom.properties files are over the limit of %d", len(propsNames), maxJarPomProperties))
		propsNames = propsNames[:maxJarPomProperties]
	}
	byDir := map[string]*pomProperties{}
	for _, n := range propsNames {
		b, err := a.read(files[n], maxJarMetaBytes)
		if err != nil {
			a.s.fail(a.where(n), err)
			continue
		}
		pp, err := parsePomProperties(b)
		if err != nil || pp.ArtifactID == "" || pp.Version == "" {
			continue // syft skips them too
		}
		byDir[path.Dir(n)] = pp
	}
	dirs := slices.Sorted(maps.Keys(byDir))

	fn := newJavaArchiveFilename(a.name)
	main := &javaPkg{manifest: m, license: m.license()}
	if best := bestPomProperties(byDir, dirs, poms, fn.name); best != "" {
		main.name, main.version = byDir[best].ArtifactID, byDir[best].Version
		if main.license == "" {
			main.license = a.pomLicense(poms[best])
		}
	}
	if main.name == "" {
		main.name = m.selectName(fn)
	}
	if main.version == "" {
		main.version = m.selectVersion(fn)
	}
	if main.version == "" {
		main.version = a.versionProperties(m, files)
	}

	var aux []*javaPkg
	for _, d := range dirs {
		pp := byDir[d]
		p := &javaPkg{name: pp.ArtifactID, version: pp.Version, props: pp}
		if p.sameAs(main) {
			main.name, main.version = p.name, p.version
			if main.props == nil {
				main.props = pp
			}
			continue
		}
		p.license = a.pomLicense(poms[d])
		aux = append(aux, p)
	}
	var out []Package
	for _, p := range append([]*javaPkg{main}, aux...) {
		if p.name == "" {
			continue // nothing names it (syft would list it nameless)
		}
		out = append(out, Package{
			Type:    packageurl.TypeMaven,
			Name:    p.name,
			Version: p.version,
			PURL:    packageurl.NewPackageURL(packageurl.TypeMaven, p.group(), p.name, p.version, nil, "").ToString(),
			License: p.license,
			Main:    p == main,
		})
	}
	return out
}

// nested reads the Java archives inside this one.
func (a *jarArchive) nested(depth int) {
	var names []string
	files := map[string]*zip.File{}
	for _, f := range a.zr.File {
		n := strings.TrimPrefix(f.Name, "/")
		if !strings.HasSuffix(n, "/") && isJavaArchive("/"+n) {
			if _, dup := files[n]; !dup {
				names = append(names, n)
				files[n] = f
			}
		}
	}
	if len(names) == 0 {
		return
	}
	if depth >= maxJarDepth {
		a.s.fail(a.where(""), fmt.Errorf("%d nested archives not read: archives nested %d deep are not opened", len(names), maxJarDepth+1))
		return
	}
	slices.Sort(names)
	for _, n := range names {
		b, err := a.read(files[n], maxJarNestedBytes)
		if err != nil {
			a.s.fail(a.where(n), err)
			continue
		}
		a.s.archive(bytes.NewReader(b), int64(len(b)), path.Base(n), a.at+"!/"+n, depth+1)
	}
}

// where names an entry of this archive in a warning.
func (a *jarArchive) where(entry string) string {
	w := strings.TrimPrefix(a.at, "!/")
	if entry == "" {
		return w
	}
	if w == "" {
		return entry
	}
	return w + "!/" + entry
}

// read decompresses one entry of at most limit bytes, charged to the
// archive's budget; the declared size is checked first and the actual
// bytes are bounded whatever it says.
func (a *jarArchive) read(f *zip.File, limit int64) ([]byte, error) {
	limit = min(limit, a.s.inflate)
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("entry of %d bytes is over the %d-byte limit", f.UncompressedSize64, limit)
	}
	size := int64(f.UncompressedSize64)
	a.s.inflate -= size // charged as declared: that is what is allocated
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	buf := bytes.NewBuffer(make([]byte, 0, size+1))
	if _, err := buf.ReadFrom(io.LimitReader(rc, size+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > size {
		return nil, errors.New("entry is longer than it declares")
	}
	return buf.Bytes(), nil
}

// versionProperties is syft's last resort for the version of an
// application jar built without Maven or Gradle: "version" or "tag" of a
// version.properties at the archive's root, if it has a Main-Class.
func (a *jarArchive) versionProperties(m *javaManifest, files map[string]*zip.File) string {
	if v, _ := m.get("Main-Class"); v == "" {
		return ""
	}
	var match *zip.File
	for n, f := range files {
		if strings.EqualFold(n, "version.properties") {
			if match != nil {
				return ""
			}
			match = f
		}
	}
	if match == nil {
		return ""
	}
	b, err := a.read(match, maxJarMetaBytes)
	if err != nil {
		a.s.fail(a.where(match.Name), err)
		return ""
	}
	props := map[string]string{}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, "="); ok {
			props[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	for _, k := range []string{"version", "tag"} {
		if m := releaseVersion().FindStringSubmatch(props[k]); m != nil {
			return m[1]
		}
	}
	return ""
}

var releaseVersion = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^v?(\d[0-9A-Za-z.\-_+]*)$`) })

// bestPomProperties is syft's choice of the pom.properties that names the
// archive itself: the first (by directory) whose artifactId matches the
// file name, preferring one with a pom.xml beside it and an exact match.
// It returns its directory.
func bestPomProperties(byDir map[string]*pomProperties, dirs []string, poms map[string]*zip.File, fileName string) string {
	artifacts := map[string]bool{}
	for _, pp := range byDir {
		artifacts[pp.ArtifactID] = true
	}
	matches := func(artifactID string) bool {
		if artifactID == "" || fileName == "" {
			return false
		}
		if artifacts[fileName] {
			return artifactID == fileName
		}
		return strings.HasPrefix(artifactID, fileName) || strings.HasSuffix(fileName, artifactID)
	}
	exact := func(pp *pomProperties, hasPom bool) bool {
		return hasPom && (strings.Contains(fileName, pp.GroupID) || fileName == pp.ArtifactID)
	}
	best, bestPom := "", false
	for _, d := range dirs {
		pp := byDir[d]
		if !matches(pp.ArtifactID) {
			continue
		}
		switch {
		case best == "":
			best, bestPom = d, poms[d] != nil
		case poms[d] == nil:
		case !bestPom:
			best, bestPom = d, true
		case exact(pp, true):
			best = d
		}
		if exact(pp, bestPom) {
			break
		}
	}
	return best
}

// sameAs is syft's packageIdentitiesMatch of a pom.properties package and
// the archive's own: same group, name and version, or the artifactId is
// the archive's name.
func (p *javaPkg) sameAs(main *javaPkg) bool {
	if p.group()+"|"+p.name+"|"+p.version == main.group()+"|"+main.name+"|"+main.version {
		return true
	}
	return p.props != nil && p.props.ArtifactID != "" && main.name == p.props.ArtifactID
}

// group is the purl namespace as syft derives it: pom.properties' groupId
// (or an artifactId that looks like one), else a group-like manifest
// field, else the name itself.
func (p *javaPkg) group() string {
	if pp := p.props; pp != nil {
		if pp.GroupID != "" {
			return cleanGroupID(pp.GroupID)
		}
		if strings.Contains(pp.ArtifactID, ".") {
			return cleanGroupID(pp.ArtifactID)
		}
	}
	if g := knownGroupID(p.name, p.version); g != "" {
		return g
	}
	if g := p.manifest.groupID(); g != "" {
		return g
	}
	return p.name
}

// javaGroupIDs is syft's table of the groups of well-known artifacts.
//
//go:embed java_groupids.txt
var javaGroupIDs string

// knownGroupIDs parses javaGroupIDs once: artifactId to one group, or to
// the group before and from a major version.
var knownGroupIDs = sync.OnceValue(func() map[string][]string {
	m := map[string][]string{}
	for line := range strings.Lines(javaGroupIDs) {
		if f := strings.Fields(line); len(f) >= 2 && !strings.HasPrefix(f[0], "#") {
			m[f[0]] = f[1:]
		}
	}
	return m
})

// knownGroupID is syft's ArtifactIDToGroupID: the group of a well-known
// artifact, for an archive whose metadata names none.
func knownGroupID(artifactID, version string) string {
	g := knownGroupIDs()[artifactID]
	switch len(g) {
	case 1:
		return g[0]
	case 3:
		major, _, _ := strings.Cut(version, ".")
		major, _, _ = strings.Cut(major, "-")
		if n, err := strconv.Atoi(major); err == nil && n >= atoi(g[2]) {
			return g[1]
		}
		return g[0]
	}
	return ""
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func cleanGroupID(g string) string {
	g, _, _ = strings.Cut(g, ";") // an OSGi directive: org.bar;uses:="org.foo"
	return strings.TrimSpace(g)
}

// pomLicense reads the licenses a pom.xml declares (not those of its
// parents), joined with OR: Maven says any of them may be chosen.
func (a *jarArchive) pomLicense(f *zip.File) string {
	if f == nil {
		return ""
	}
	b, err := a.read(f, maxJarMetaBytes)
	if err != nil {
		a.s.fail(a.where(f.Name), err)
		return ""
	}
	var pom struct {
		Licenses []struct {
			Name string `xml:"name"`
		} `xml:"licenses>license"`
	}
	if xml.Unmarshal(b, &pom) != nil {
		return "" // syft skips a pom.xml it cannot parse, and so does Hallmark
	}
	var names []string
	for _, l := range pom.Licenses {
		if n := strings.Join(strings.Fields(l.Name), " "); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return anyOfLicenses(names)
}

// pomProperties is what Maven writes to META-INF/maven/<group>/<artifact>/pom.properties.
type pomProperties struct {
	GroupID, ArtifactID, Version string
}

// parsePomProperties reads key=value (or key:value) lines as syft does:
// keys matched case-insensitively, comments skipped, a line without a
// separator an error.
func parsePomProperties(b []byte) (*pomProperties, error) {
	pp := &pomProperties{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxJarMetaBytes)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimLeft(line, " "), "#") {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			return nil, fmt.Errorf("pom.properties line %.40q has no separator", line)
		}
		k, v := strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:])
		switch {
		case strings.EqualFold(k, "groupId"):
			pp.GroupID = v
		case strings.EqualFold(k, "artifactId"):
			pp.ArtifactID = v
		case strings.EqualFold(k, "version"):
			pp.Version = v
		}
	}
	return pp, sc.Err()
}

// javaManifest is a META-INF/MANIFEST.MF: the main section and the
// per-entry sections, in order.
type javaManifest struct {
	sections [][]manifestField
}

type manifestField struct{ key, value string }

// parseJavaManifest reads a manifest as syft does: sections separated by
// blank lines, continuation lines (a leading space) appended trimmed,
// lines without a colon skipped.
func parseJavaManifest(b []byte) *javaManifest {
	m := &javaManifest{}
	last := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxJarMetaBytes)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			last = false
		case line[0] == ' ':
			if last {
				s := m.sections[len(m.sections)-1]
				s[len(s)-1].value += strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				continue
			}
			if !last {
				m.sections = append(m.sections, nil)
			}
			i := len(m.sections) - 1
			m.sections[i] = append(m.sections[i], manifestField{k, strings.TrimSpace(v)})
			last = true
		}
	}
	return m // a line over the limit ends the manifest, as in syft
}

// get returns the main section's first value for key.
func (m *javaManifest) get(key string) (string, bool) {
	if m == nil || len(m.sections) == 0 {
		return "", false
	}
	for _, f := range m.sections[0] {
		if f.key == key {
			return f.value, true
		}
	}
	return "", false
}

// field returns key's value in the main section, else in the first other
// section that has it non-empty.
func (m *javaManifest) field(key string) string {
	if m == nil {
		return ""
	}
	for _, s := range m.sections {
		for _, f := range s {
			if f.key == key {
				if f.value != "" {
					return f.value
				}
				break
			}
		}
	}
	return ""
}

// selectName is syft's name for an archive without a matching
// pom.properties: Bundle-SymbolicName's last part for a jar built by the
// Apache Maven Bundle Plugin, else the file name, else a manifest title.
func (m *javaManifest) selectName(fn archiveFilename) string {
	if by, _ := m.get("Created-By"); strings.Contains(by, "Apache Maven Bundle Plugin") {
		if sym, _ := m.get("Bundle-SymbolicName"); sym != "" {
			if vid, _ := m.get("Implementation-Vendor-Id"); vid == "" || vid != sym {
				return sym[strings.LastIndexByte(sym, '.')+1:]
			}
		}
	}
	if n := fn.artifactName(); n != "" {
		return n
	}
	for _, k := range []string{"Name", "Bundle-Name", "Short-Name", "Extension-Name", "Implementation-Title"} {
		if v, _ := m.get(k); v != "" {
			return v
		}
	}
	return ""
}

// selectVersion is the file name's version, else the manifest's.
func (m *javaManifest) selectVersion(fn archiveFilename) string {
	if fn.version != "" {
		return fn.version
	}
	for _, k := range []string{"Implementation-Version", "Specification-Version", "Plugin-Version", "Bundle-Version"} {
		if v := m.field(k); v != "" {
			return v
		}
	}
	return ""
}

// license is the declared Bundle-License (its first license, without
// OSGi attributes) or a Jenkins plugin's Plugin-License-Name.
func (m *javaManifest) license() string {
	if v := m.field("Bundle-License"); v != "" && v != "<<EXTERNAL>>" {
		v, _, _ = strings.Cut(v, ";")
		if !strings.Contains(v, `"`) {
			v, _, _ = strings.Cut(v, ",")
		}
		return strings.Trim(strings.TrimSpace(v), `"`)
	}
	return m.field("Plugin-License-Name")
}

// Manifest fields syft reads a group ID from, in two tiers.
var (
	manifestGroupFields   = []string{"Group-Id", "Bundle-SymbolicName", "Extension-Name", "Specification-Vendor", "Implementation-Vendor", "Implementation-Vendor-Id", "Implementation-Title", "Bundle-Activator"}
	manifestGroupFields2  = []string{"Automatic-Module-Name", "Main-Class", "Package"}
	groupTopLevelPrefixes = []string{"com", "org", "net", "io", "be"}
	groupIDCorrections    = map[string]string{"org.lz4.java": "org.lz4"}
)

// groupID is syft's group from the manifest: of the values of the first
// tier of fields (every section) that start like a reversed domain (a
// plain prefix test, as syft's), the smallest; else of the second tier.
func (m *javaManifest) groupID() string {
	if m == nil {
		return ""
	}
	for _, fields := range [][]string{manifestGroupFields, manifestGroupFields2} {
		var ids []string
		for _, k := range fields {
			for _, s := range m.sections {
				for _, f := range s {
					if f.key != k {
						continue
					}
					if startsWithAny(f.value, groupTopLevelPrefixes) {
						g, _, _ := strings.Cut(f.value, ";")
						g, _, _ = strings.Cut(g, "#")
						g = strings.TrimSpace(g)
						if c, ok := groupIDCorrections[g]; ok {
							g = c
						}
						ids = append(ids, g)
					}
					break
				}
			}
		}
		if len(ids) > 0 {
			return slices.Min(ids)
		}
	}
	return ""
}

func startsWithAny(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// archiveFilename is an archive's name and version as syft reads them
// from its file name: "commons-lang3-3.12.0.jar" is commons-lang3 3.12.0.
type archiveFilename struct {
	name, version string
}

// The patterns of syft's archive_filename.go: the version starts at the
// first dash-separated group that starts with a digit, "build<digit>" or
// "r[c]<digits>"; else after a '.', '_' or '-'.
var (
	nameAndVersion = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?Ui)^(?P<name>(?:[[:alpha:]][[:word:].]*(?:\.[[:alpha:]][[:word:].]*)*-?)+)(?:-(?P<version>(\d.*|(build\d+.*)|(rc?\d+(?:^[[:alpha:]].*)?))))?$`)
	})
	secondaryVersion = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?:[._-](?P<version>(\d.*|(build\d+.*)|(rc?\d+(?:^[[:alpha:]].*)?))))?$`)
	})
)

func newJavaArchiveFilename(base string) archiveFilename {
	base = strings.TrimSuffix(base, path.Ext(base))
	var fn archiveFilename
	if m := nameAndVersion().FindStringSubmatch(base); m != nil {
		fn.name = m[nameAndVersion().SubexpIndex("name")]
		fn.version = m[nameAndVersion().SubexpIndex("version")]
	}
	if fn.version == "" {
		if m := secondaryVersion().FindStringSubmatch(fn.name); m != nil {
			if v := m[secondaryVersion().SubexpIndex("version")]; v != "" {
				fn.version = v
				fn.name = fn.name[:len(fn.name)-len(v)-1]
			}
		}
	}
	return fn
}

// artifactName is the file name's name, or the last part of a name that
// looks like group.artifact (except Eclipse's dotted artifact names).
func (fn archiveFilename) artifactName() string {
	if !strings.Contains(fn.name, ".") || strings.HasPrefix(fn.name, "org.eclipse.") {
		return fn.name
	}
	fields := strings.Split(fn.name, ".")
	for _, f := range fields {
		if !javaIdentifierStart(f) {
			return fn.name
		}
	}
	return fields[len(fields)-1]
}

// javaIdentifierStart reports whether s starts with a character that can
// start a Java identifier (letters, letter numbers, currency symbols and
// connector punctuation).
func javaIdentifierStart(s string) bool {
	for _, r := range s {
		return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Lm, unicode.Lo, unicode.Nl, unicode.Sc, unicode.Pc)
	}
	return false
}

// zipEntryCount reads the entry count from a zip's end of central
// directory record (zip64 too), so that an archive declaring millions of
// entries is refused before archive/zip allocates for them.
func zipEntryCount(ra io.ReaderAt, size int64) (uint64, error) {
	const endLen = 22
	tail := min(size, 65535+endLen)
	b := make([]byte, tail)
	if _, err := ra.ReadAt(b, size-tail); err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("read zip: %w", err)
	}
	for i := len(b) - endLen; i >= 0; i-- {
		if !bytes.Equal(b[i:i+4], []byte("PK\x05\x06")) {
			continue
		}
		if n := int(binary.LittleEndian.Uint16(b[i+20:])); i+endLen+n > len(b) {
			continue
		}
		count := uint64(binary.LittleEndian.Uint16(b[i+10:]))
		dirSize := binary.LittleEndian.Uint32(b[i+12:])
		dirOff := binary.LittleEndian.Uint32(b[i+16:])
		if count != 0xffff && dirSize != 0xffffffff && dirOff != 0xffffffff {
			return count, nil
		}
		// zip64: the locator precedes the record and points to the zip64 end record.
		end := size - tail + int64(i)
		var loc [20]byte
		if end < 20 {
			return count, nil
		}
		if _, err := ra.ReadAt(loc[:], end-20); err != nil {
			return 0, fmt.Errorf("read zip: %w", err)
		}
		if !bytes.Equal(loc[:4], []byte("PK\x06\x07")) {
			return count, nil // no zip64 locator: the values are what they say
		}
		off := binary.LittleEndian.Uint64(loc[8:])
		var rec [56]byte
		if off > uint64(size) || int64(off)+56 > size {
			return 0, errors.New("read zip: zip64 directory record out of range")
		}
		if _, err := ra.ReadAt(rec[:], int64(off)); err != nil || !bytes.Equal(rec[:4], []byte("PK\x06\x06")) {
			return 0, errors.New("read zip: bad zip64 directory record")
		}
		return binary.LittleEndian.Uint64(rec[32:]), nil
	}
	return 0, errors.New("not a zip archive")
}
