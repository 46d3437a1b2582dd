package debian

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Default assembly limits.
const (
	DefaultMaxUnpackedBytes = 4 << 30
	DefaultMaxEntries       = 1_000_000
)

// Image is an assembled base image, backed by temporary files until Close.
type Image struct {
	// Image has one layer, OCI media types, and the spec's config.
	Image v1.Image
	// Packages are the installed packages, sorted by name.
	Packages []Package
	// Created is the image's created time and the modification time of
	// every directory and generated file: the newest modification time in
	// any package.
	Created time.Time
	// Entries and UnpackedBytes measure the layer.
	Entries       int
	UnpackedBytes int64
	// Warnings say what was overridden (a package file replaced by a
	// generated one).
	Warnings []string
	dir      string
}

// Close removes the image's temporary files; the Image is unusable after.
func (i *Image) Close() error { return os.RemoveAll(i.dir) }

// AssembleOption configures Assemble.
type AssembleOption func(*assembleOptions) error

type assembleOptions struct {
	workDir    string
	maxBytes   int64
	maxEntries int
}

// WithWorkDir sets where the temporary files live. The default is
// os.TempDir().
func WithWorkDir(dir string) AssembleOption {
	return func(o *assembleOptions) error { o.workDir = dir; return nil }
}

// WithMaxUnpackedBytes bounds the unpacked size of all packages. The
// default is DefaultMaxUnpackedBytes.
func WithMaxUnpackedBytes(n int64) AssembleOption {
	return func(o *assembleOptions) error {
		if n <= 0 {
			return errors.New("max unpacked bytes must be positive")
		}
		o.maxBytes = n
		return nil
	}
}

// node is one path of the image.
type node struct {
	Entry
	pkg  string   // the package that ships it; "" when generated
	off  int64    // a package file's contents in the spool
	data []byte   // a generated file's contents
	sum  [32]byte // sha256 of a regular file's contents
}

type assembler struct {
	o        assembleOptions
	nodes    map[string]*node
	spool    *os.File
	size     int64
	newest   time.Time
	controls map[string][]byte // package name → control paragraph
	warnings []string
}

// Assemble unpacks debs (the .deb of each of plan's packages, in plan
// order) into a one-layer image configured by spec. It reads every .deb
// with ReadDeb and checks its control file against the plan. Packages are
// unpacked in name order; a directory shipped by several packages keeps
// the first one's owner and mode; the same path with different contents,
// types or targets in two packages is an error, as is a path under a
// symlink. Then it adds the generated files (package doc). Errors
// wrap hallmark.ErrInvalid (or hallmark.ErrTooLarge) when a package is at
// fault.
func Assemble(ctx context.Context, spec *Spec, plan *Plan, debs []string, opts ...AssembleOption) (_ *Image, err error) {
	o := assembleOptions{workDir: os.TempDir(), maxBytes: DefaultMaxUnpackedBytes, maxEntries: DefaultMaxEntries}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if len(debs) != len(plan.Packages) {
		return nil, fmt.Errorf("assemble: %d .deb files for %d packages", len(debs), len(plan.Packages))
	}
	platform, ok := ociPlatforms[plan.Architecture]
	if !ok {
		return nil, fmt.Errorf("%w: assemble: architecture %q has no OCI platform", hallmark.ErrInvalid, plan.Architecture)
	}
	dir, err := os.MkdirTemp(o.workDir, "base-")
	if err != nil {
		return nil, fmt.Errorf("create work dir: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	spool, err := os.Create(dir + "/spool")
	if err != nil {
		return nil, fmt.Errorf("create spool: %w", err)
	}
	defer spool.Close()
	a := &assembler{o: o, nodes: map[string]*node{}, spool: spool, controls: map[string][]byte{}}

	order := make([]int, len(debs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return strings.Compare(plan.Packages[x].Name, plan.Packages[y].Name) })
	pkgs := make([]Package, 0, len(order))
	for _, i := range order {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%w: assemble: %w", hallmark.ErrCanceled, context.Cause(ctx))
		}
		p := plan.Packages[i]
		if len(pkgs) > 0 && pkgs[len(pkgs)-1].Name == p.Name {
			return nil, fmt.Errorf("%w: assemble: package %s is listed twice", hallmark.ErrInvalid, p.Name)
		}
		if err := a.addPackage(p, debs[i]); err != nil {
			return nil, fmt.Errorf("unpack %s=%s: %w", p.Name, p.Version, err)
		}
		pkgs = append(pkgs, p)
	}
	if err := a.generate(spec, pkgs); err != nil {
		return nil, err
	}
	names, err := a.complete()
	if err != nil {
		return nil, err
	}
	layer, err := a.writeLayer(dir+"/layer.tar.gz", names)
	if err != nil {
		return nil, err
	}
	img, err := image(spec, platform, layer, a.newest, len(pkgs))
	if err != nil {
		return nil, err
	}
	return &Image{Image: img, Packages: pkgs, Created: a.newest, Entries: len(names), UnpackedBytes: a.size, Warnings: a.warnings, dir: dir}, nil
}

// addPackage unpacks one .deb into the tree and the spool.
func (a *assembler) addPackage(p Package, file string) error {
	fh, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open .deb: %w", err)
	}
	defer fh.Close()
	// The decompressed stream also holds tar headers and padding.
	deb, err := ReadDeb(fh, a.o.maxBytes-a.size+256<<20, func(e Entry, r io.Reader) error {
		if e.ModTime.After(a.newest) {
			a.newest = e.ModTime
		}
		n := &node{Entry: e, pkg: p.Name}
		if e.Type == tar.TypeReg {
			if a.size+e.Size > a.o.maxBytes {
				return fmt.Errorf("%w: the packages unpack to more than %d bytes", hallmark.ErrTooLarge, a.o.maxBytes)
			}
			h := sha256.New()
			n.off = a.size
			if _, err := io.CopyN(io.MultiWriter(a.spool, h), r, e.Size); err != nil {
				return err
			}
			a.size += e.Size
			copy(n.sum[:], h.Sum(nil))
		}
		return a.add(n)
	})
	if err != nil {
		return err
	}
	f := deb.Fields
	if f["Package"] != p.Name || f["Version"] != p.Version || f["Architecture"] != p.Architecture {
		return fmt.Errorf("%w: the .deb is %s %s (%s), the index said %s %s (%s)", hallmark.ErrInvalid,
			hallmark.Clip(f["Package"], 80), hallmark.Clip(f["Version"], 80), hallmark.Clip(f["Architecture"], 80), p.Name, p.Version, p.Architecture)
	}
	a.controls[p.Name] = deb.Control
	return nil
}

// add puts a package's node into the tree, resolving paths that several
// packages ship.
func (a *assembler) add(n *node) error {
	old, ok := a.nodes[n.Name]
	if !ok {
		if len(a.nodes) >= a.o.maxEntries {
			return fmt.Errorf("%w: the packages have more than %d entries", hallmark.ErrTooLarge, a.o.maxEntries)
		}
		a.nodes[n.Name] = n
		return nil
	}
	same := old.Type == n.Type
	switch {
	case same && n.Type == tar.TypeDir:
		return nil // the first package's directory wins
	case same && n.Type == tar.TypeReg && old.sum == n.sum && old.Mode == n.Mode && old.UID == n.UID && old.GID == n.GID:
		return nil
	case same && (n.Type == tar.TypeSymlink || n.Type == tar.TypeLink) && old.Linkname == n.Linkname:
		return nil
	}
	if old.pkg == n.pkg {
		return fmt.Errorf("%w: /%s appears twice", hallmark.ErrInvalid, n.Name)
	}
	return fmt.Errorf("%w: packages %s and %s both ship /%s, differently", hallmark.ErrInvalid, old.pkg, n.pkg, n.Name)
}

// put adds a generated node, replacing what a package shipped there.
func (a *assembler) put(n *node) {
	if old, ok := a.nodes[n.Name]; ok && old.pkg != "" && (old.Type != tar.TypeDir || n.Type != tar.TypeDir) {
		a.warnings = append(a.warnings, fmt.Sprintf("generated /%s replaces the one of package %s", n.Name, old.pkg))
	}
	n.ModTime = a.newest
	if n.Type == tar.TypeReg {
		n.Size = int64(len(n.data))
		n.sum = sha256.Sum256(n.data)
	}
	a.nodes[n.Name] = n
}

// complete adds missing parent directories (root-owned, 0755) and checks
// that no path lies under a non-directory. It returns the sorted names.
func (a *assembler) complete() ([]string, error) {
	for _, name := range sortedKeys(a.nodes) {
		for p := path.Dir(name); p != "."; p = path.Dir(p) {
			parent, ok := a.nodes[p]
			if !ok {
				a.nodes[p] = &node{Entry: Entry{Name: p, Type: tar.TypeDir, Mode: 0o755, ModTime: a.newest}}
				continue
			}
			if parent.Type != tar.TypeDir {
				return nil, fmt.Errorf("%w: /%s (package %s) lies under /%s, which is not a directory (package %s)",
					hallmark.ErrInvalid, name, orGenerated(a.nodes[name].pkg), p, orGenerated(parent.pkg))
			}
		}
	}
	for _, n := range a.nodes {
		if n.Type == tar.TypeDir {
			n.ModTime = a.newest // directories merge several packages
		}
		if n.Type == tar.TypeLink {
			if t, ok := a.nodes[n.Linkname]; !ok || t.Type != tar.TypeReg || t.pkg == "" {
				return nil, fmt.Errorf("%w: hard link /%s -> /%s: the target is not a package's regular file", hallmark.ErrInvalid, n.Name, n.Linkname)
			}
		}
	}
	return sortedKeys(a.nodes), nil
}

func orGenerated(pkg string) string {
	if pkg == "" {
		return "generated"
	}
	return pkg
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// contents returns a regular file's contents.
func (a *assembler) contents(n *node) io.Reader {
	if n.pkg == "" {
		return strings.NewReader(string(n.data))
	}
	return io.NewSectionReader(a.spool, n.off, n.Size)
}
