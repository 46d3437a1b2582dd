package sbom

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hallmark-dev/hallmark"
)

// The walk reads layers from the top (last) to the bottom (first). An entry
// is part of the final filesystem unless a layer above it shadows it, so
// every file is decided the first time its path is seen and only visible
// files of interest are ever read; everything else is skipped in the stream.

// mark records what a layer above says about a path, for the layers below.
type mark uint8

const (
	markDir      mark = iota + 1 // a directory: hides a lower non-directory at the same path
	markOpaque                   // .wh..wh..opq: also hides everything below the directory
	markFile                     // a non-directory: hides the path and everything below it
	markWhiteout                 // .wh.<name>: hides the path and everything below it
)

// shadow holds the marks of the layers walked so far.
type shadow map[string]mark

// hides reports whether an entry at the cleaned absolute path p in a lower
// layer is hidden by the layers already walked.
func (s shadow) hides(p string, isDir bool) bool {
	if m, ok := s[p]; ok && (m >= markFile || !isDir) {
		return true
	}
	for i := strings.LastIndexByte(p, '/'); i > 0; i = strings.LastIndexByte(p[:i], '/') {
		if s[p[:i]] >= markOpaque {
			return true
		}
	}
	return false
}

// add records m for p, keeping the stronger mark.
func (s shadow) add(p string, m mark) {
	if s[p] < m {
		s[p] = m
	}
}

// evidence is where a package was found.
type evidence struct {
	layer hallmark.Digest // diffID
	path  string
}

// catalog is what the walk found.
type catalog struct {
	osRelease    *osRelease // /etc/os-release
	osReleaseUsr *osRelease // /usr/lib/os-release, often the target of the former
	dpkg         []dbFile[dpkgPackage]
	apk          []dbFile[apkPackage]
	rpm          []dbFile[rpmPackage]
	alpm         []dbFile[alpmPackage]
	portage      []dbFile[portagePackage]
	portageLic   map[string]string // package directory → its LICENSE
	golang       []goBinary
	app          []appFile // application ecosystems (app.go)
	warnings     []string
	shadow       shadow // marks of every walked layer
}

// dbFile is the content of one package database file.
type dbFile[T any] struct {
	ev   evidence
	pkgs []T
}

// fileKind says which cataloger reads a path.
type fileKind uint8

const (
	kindNone fileKind = iota
	kindOSRelease
	kindOSReleaseUsr
	kindDpkg
	kindApk
	kindRPM
	kindAlpm
	kindPortage        // a package's CONTENTS: named by its directory
	kindPortageLicense // a package's LICENSE
)

// classify maps a cleaned absolute path to the cataloger that reads it.
func classify(p string) fileKind {
	switch p {
	case "/etc/os-release":
		return kindOSRelease
	case "/usr/lib/os-release":
		return kindOSReleaseUsr
	case "/var/lib/dpkg/status":
		return kindDpkg
	case "/lib/apk/db/installed", "/usr/lib/apk/db/installed":
		return kindApk
	}
	dir, base := path.Split(p)
	switch dir {
	case "/var/lib/dpkg/status.d/":
		if base != "" && !strings.HasSuffix(base, ".md5sums") {
			return kindDpkg
		}
	case "/var/lib/rpm/", "/usr/lib/sysimage/rpm/", "/usr/share/rpm/":
		if base == "Packages" || base == "Packages.db" || base == "rpmdb.sqlite" {
			return kindRPM
		}
	}
	if isAlpmDesc(dir, base) {
		return kindAlpm
	}
	switch portageFileOf(dir, base) {
	case "CONTENTS":
		return kindPortage
	case "LICENSE":
		return kindPortageLicense
	}
	return kindNone
}

// walker walks the layers of one image.
type walker struct {
	o       *options
	entries int
	cat     catalog
}

// walk reads layers[from:] top-down and returns what it found.
func walk(ctx context.Context, o *options, layers []v1.Layer, from int) (*catalog, error) {
	w := &walker{o: o, cat: catalog{shadow: shadow{}}}
	for i := len(layers) - 1; i >= from; i-- {
		if err := w.layer(ctx, layers[i], i == from); err != nil {
			return nil, fmt.Errorf("read layer %d: %w", i, err)
		}
	}
	return &w.cat, nil
}

// layer reads one layer; last says that no layer below it will be walked,
// so its marks need not be kept unless a base SBOM is reused.
func (w *walker) layer(ctx context.Context, l v1.Layer, last bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d, err := l.DiffID()
	if err != nil {
		return fmt.Errorf("read diffID: %w", err)
	}
	diffID := hallmark.Digest(d.String())
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("open layer %s: %w", diffID, err)
	}
	defer rc.Close()
	src := &layerReader{r: rc, left: w.o.maxLayerBytes}
	tr := tar.NewReader(src)
	pending := shadow{}
	found := map[string]func(){} // path → how to record it; a later duplicate wins
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar of layer %s: %w", diffID, err)
		}
		if w.entries++; w.entries > w.o.maxEntries {
			return fmt.Errorf("%w: more than %d tar entries", hallmark.ErrTooLarge, w.o.maxEntries)
		}
		if w.entries%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		p := path.Clean("/" + hdr.Name)
		if p == "/" {
			continue
		}
		dir, base := path.Split(p)
		if strings.HasPrefix(base, ".wh.") {
			switch {
			case base == ".wh..wh..opq":
				pending.add(path.Clean(dir), markOpaque)
			case strings.HasPrefix(base, ".wh..wh."):
				// aufs metadata (.wh..wh.plnk, .wh..wh.aufs): not part of the filesystem.
			default:
				pending.add(dir+base[len(".wh."):], markWhiteout)
			}
			continue
		}
		isDir := hdr.Typeflag == tar.TypeDir
		if !last || w.o.base != nil {
			if isDir {
				pending.add(p, markDir)
			} else {
				pending.add(p, markFile)
			}
		}
		if hdr.Typeflag != tar.TypeReg || w.cat.shadow.hides(p, isDir) {
			continue
		}
		ev := evidence{layer: diffID, path: p}
		record, err := w.read(ctx, tr, hdr, ev)
		if err != nil {
			if src.err != nil { // the layer stream itself failed
				return fmt.Errorf("read %s in layer %s: %w", p, diffID, src.err)
			}
			w.warn("read %s in layer %s: %v", p, diffID, err)
		}
		if record != nil {
			found[p] = record
		}
	}
	for _, record := range found {
		record()
	}
	for p, m := range pending {
		w.cat.shadow.add(p, m)
	}
	return nil
}

// read runs the cataloger for one visible regular file. It returns a
// function that records the result, or nil if the file is of no interest.
// A partial result comes with an error.
func (w *walker) read(ctx context.Context, r io.Reader, hdr *tar.Header, ev evidence) (func(), error) {
	kind := classify(ev.path)
	if kind == kindNone {
		if c := appFor(ev.path); c != nil {
			return w.readApp(c, r, hdr, ev)
		}
		if hdr.Mode&0o111 == 0 || hdr.Size < elfMinSize {
			return nil, nil
		}
		if hdr.Size > w.o.maxBinaryBytes {
			w.warn("skip executable %s in layer %s: %d bytes is over the %d-byte limit", ev.path, ev.layer, hdr.Size, w.o.maxBinaryBytes)
			return nil, nil
		}
		return w.readExecutable(r, hdr.Size, ev)
	}
	if kind == kindPortage { // the path names the package; the file lists its files
		pkg, err := portageFromPath(ev.path)
		if err != nil {
			return nil, err
		}
		return func() { w.cat.portage = append(w.cat.portage, dbFile[portagePackage]{ev, []portagePackage{pkg}}) }, nil
	}
	limit := w.o.maxFileBytes
	switch kind {
	case kindOSRelease, kindOSReleaseUsr:
		limit = min(limit, maxOSReleaseBytes)
	case kindAlpm:
		limit = min(limit, maxAlpmDescBytes)
	case kindPortageLicense:
		limit = min(limit, maxPortageLicenseBytes)
	}
	if hdr.Size > limit {
		return nil, fmt.Errorf("%w: %d bytes is over the %d-byte limit", hallmark.ErrTooLarge, hdr.Size, limit)
	}
	r = io.LimitReader(r, hdr.Size)
	switch kind {
	case kindOSRelease, kindOSReleaseUsr:
		rel, err := parseOSRelease(r)
		if err != nil {
			return nil, err
		}
		if kind == kindOSRelease {
			return func() { w.cat.osRelease = rel }, nil
		}
		return func() { w.cat.osReleaseUsr = rel }, nil
	case kindDpkg:
		pkgs, err := parseDpkgStatus(r)
		return func() { w.cat.dpkg = append(w.cat.dpkg, dbFile[dpkgPackage]{ev, pkgs}) }, err
	case kindApk:
		pkgs, err := parseApkInstalled(r)
		return func() { w.cat.apk = append(w.cat.apk, dbFile[apkPackage]{ev, pkgs}) }, err
	case kindRPM:
		pkgs, err := readRPMDB(ctx, r, hdr.Size, w.o.tempDir)
		return func() { w.cat.rpm = append(w.cat.rpm, dbFile[rpmPackage]{ev, pkgs}) }, err
	case kindAlpm:
		pkgs, err := parseAlpmDesc(r)
		if len(pkgs) == 0 {
			return nil, err
		}
		return func() { w.cat.alpm = append(w.cat.alpm, dbFile[alpmPackage]{ev, pkgs}) }, err
	case kindPortageLicense:
		lic, err := readPortageLicense(r)
		if err != nil {
			return nil, err
		}
		return func() {
			if w.cat.portageLic == nil {
				w.cat.portageLic = map[string]string{}
			}
			w.cat.portageLic[path.Dir(ev.path)] = lic
		}, nil
	}
	return nil, nil
}

// readExecutable reads the Go build information and the Rust dependency
// list (cargo auditable) of an executable in one forward pass: the Rust
// scanner sees the bytes the Go reader reads, then the rest of the file
// if it still needs them.
func (w *walker) readExecutable(r io.Reader, size int64, ev evidence) (func(), error) {
	rs := newRustScanner(size)
	info, err := readGoBuildInfo(io.TeeReader(r, rs), size)
	if errors.Is(err, errNotGo) {
		err = nil
	}
	if rs.wants() {
		if _, cerr := io.Copy(rs, io.LimitReader(r, size-rs.pos)); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	crates, rerr := rs.packages()
	err = errors.Join(err, rerr)
	if info == nil && len(crates) == 0 {
		return nil, err
	}
	return func() {
		if info != nil {
			w.cat.golang = append(w.cat.golang, goBinary{ev: ev, info: info})
		}
		if len(crates) > 0 {
			w.cat.app = append(w.cat.app, appFile{ev: ev, pkgs: crates})
		}
	}, err
}

// readApp runs an application cataloger on one file.
func (w *walker) readApp(c *appCataloger, r io.Reader, hdr *tar.Header, ev evidence) (func(), error) {
	limit := w.o.maxFileBytes
	if c.maxBytes > 0 {
		limit = min(limit, c.maxBytes)
	}
	if hdr.Size > limit {
		return nil, fmt.Errorf("%w: %s evidence of %d bytes is over the %d-byte limit", hallmark.ErrTooLarge, c.name, hdr.Size, limit)
	}
	var pkgs []Package
	var err error
	if c.parseAt != nil {
		pkgs, err = w.parseHeld(c, r, hdr.Size, ev.path)
	} else if c.parseNamed != nil {
		pkgs, err = c.parseNamed(ev.path, io.LimitReader(r, hdr.Size), hdr.Size)
	} else {
		pkgs, err = c.parse(io.LimitReader(r, hdr.Size), hdr.Size)
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", c.name, err)
	}
	if len(pkgs) == 0 {
		return nil, err
	}
	return func() { w.cat.app = append(w.cat.app, appFile{ev: ev, pkgs: pkgs}) }, err
}

// parseHeld holds a file that c reads with random access: in memory up to
// c.holdBytes, else in a temporary file in the walk's temporary directory,
// removed afterwards.
func (w *walker) parseHeld(c *appCataloger, r io.Reader, size int64, p string) (_ []Package, err error) {
	r = io.LimitReader(r, size)
	if size <= c.holdBytes {
		b := make([]byte, size)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		return c.parseAt(bytes.NewReader(b), size, p)
	}
	f, err := os.CreateTemp(w.o.tempDir, "hallmark-"+c.name+"-*")
	if err != nil {
		return nil, fmt.Errorf("create temporary copy: %w", err)
	}
	defer func() {
		f.Close()
		if rmErr := os.Remove(f.Name()); rmErr != nil && err == nil {
			err = fmt.Errorf("remove temporary copy: %w", rmErr)
		}
	}()
	if _, err := io.Copy(f, r); err != nil {
		return nil, fmt.Errorf("copy %s: %w", p, err)
	}
	return c.parseAt(f, size, p)
}

func (w *walker) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	w.o.logger.Warn("sbom: " + msg)
	w.cat.warnings = append(w.cat.warnings, msg)
}

// layerReader bounds the uncompressed bytes of a layer and remembers the
// stream's own errors, so that a cataloger's parse error (a warning) can be
// told apart from a failing layer (an error).
type layerReader struct {
	r    io.Reader
	left int64
	err  error
}

func (l *layerReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if l.left <= 0 {
		l.err = fmt.Errorf("%w: layer is over the uncompressed size limit", hallmark.ErrTooLarge)
		return 0, l.err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		l.err = err
	}
	return n, err
}
