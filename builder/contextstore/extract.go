package contextstore

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark"
)

// Default extraction limits.
const (
	DefaultMaxExtractEntries = 100_000
	DefaultMaxExtractBytes   = 2 << 30
)

// ExtractLimits bounds what an extracted archive may create.
type ExtractLimits struct {
	// MaxEntries is the most tar entries accepted. Zero means
	// DefaultMaxExtractEntries.
	MaxEntries int
	// MaxBytes is the most uncompressed bytes accepted, counting the tar
	// stream and the file contents written. Zero means
	// DefaultMaxExtractBytes.
	MaxBytes int64
}

func (l ExtractLimits) withDefaults() ExtractLimits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxExtractEntries
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxExtractBytes
	}
	return l
}

// ExtractTar extracts a plain or gzip-compressed tar stream into dest,
// creating dest if needed. Every file operation goes through an os.Root on
// dest, so nothing is written outside it. Entries with absolute or escaping
// paths, symlinks whose target is absolute or resolves outside dest,
// hardlinks to anything but regular files, device and fifo entries, and
// entries whose parent path goes through a symlink are rejected with an
// error wrapping hallmark.ErrInvalid; exceeding limits gives
// hallmark.ErrTooLarge. File modes are kept (permission bits only) and so are
// modification times; ownership is not. On error dest may hold a partial
// extraction, which the caller removes.
func ExtractTar(ctx context.Context, r io.Reader, dest string, limits ExtractLimits) error {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("create extraction directory: %w", err)
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return fmt.Errorf("open extraction directory: %w", err)
	}
	defer root.Close()
	return applyTar(ctx, r, rootTree{root}, limits, nil)
}

// entryFunc is called with each archive entry before it is applied: its
// number, its header, and the offset of its content in the uncompressed
// tar stream; plain reports that the archive is not compressed, so that
// the offset is also one in the archive's bytes.
type entryFunc func(n int, hdr *tar.Header, offset int64, plain bool)

// applyTar applies the archive read from r to t with extraction's rules
// and limits, calling onEntry, unless nil, before applying each entry.
func applyTar(ctx context.Context, r io.Reader, t tree, limits ExtractLimits, onEntry entryFunc) error {
	limits = limits.withDefaults()
	src, plain, done, err := decompress(r)
	if err != nil {
		return err
	}
	defer done()
	x := &extractor{
		ctx:     ctx,
		tree:    t,
		limits:  limits,
		written: &byteBudget{limit: limits.MaxBytes},
		dirs:    map[string]bool{".": true},
		onEntry: onEntry,
	}
	stream := &budgetReader{ctx: ctx, r: src, budget: &byteBudget{limit: limits.MaxBytes}}
	x.offset = func() int64 { return stream.budget.used }
	x.plain = plain
	return x.run(tar.NewReader(stream))
}

// decompress returns r, gunzipped if it starts with gzip's magic; plain
// reports that it did not.
func decompress(r io.Reader) (_ io.Reader, plain bool, _ func(), _ error) {
	br := bufio.NewReaderSize(r, 1<<20)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, false, nil, fmt.Errorf("%w: read gzip header: %w", hallmark.ErrInvalid, err)
		}
		return zr, false, func() { zr.Close() }, nil
	}
	return br, true, func() {}, nil
}

// byteBudget counts uncompressed bytes against a limit.
type byteBudget struct {
	limit, used int64
}

func (b *byteBudget) add(n int64) error {
	b.used += n
	if b.used > b.limit {
		return fmt.Errorf("%w: archive expands to more than the limit of %d bytes", hallmark.ErrTooLarge, b.limit)
	}
	return nil
}

// budgetReader charges everything read to a budget and stops on cancel.
type budgetReader struct {
	ctx    context.Context
	r      io.Reader
	budget *byteBudget
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := b.r.Read(p)
	if berr := b.budget.add(int64(n)); berr != nil {
		return n, berr
	}
	return n, err
}

type dirMeta struct {
	name  string
	mode  fs.FileMode
	mtime time.Time
}

type extractor struct {
	ctx      context.Context
	tree     tree
	onEntry  entryFunc
	offset   func() int64 // of the tar stream read so far
	plain    bool         // the stream is not compressed
	limits   ExtractLimits
	written  *byteBudget     // file contents; sparse files expand beyond the stream
	dirs     map[string]bool // known real directories, never replaced later
	dirMetas []dirMeta
	symlinks []string
}

func (x *extractor) run(tr *tar.Reader) error {
	err := x.entries(tr)
	// Check links also after a failure, so that no unsafe one survives.
	if lerr := x.checkSymlinks(); err == nil {
		err = lerr
	}
	if err != nil {
		return err
	}
	// Directory modes and times last, deepest first, so that writing their
	// contents neither fails on a read-only mode nor bumps the mtime.
	for _, d := range slices.Backward(x.dirMetas) {
		if err := x.tree.Chmod(d.name, d.mode); err != nil {
			return fmt.Errorf("set mode of %q: %w", d.name, err)
		}
		if err := x.tree.Chtimes(d.name, d.mtime, d.mtime); err != nil {
			return fmt.Errorf("set time of %q: %w", d.name, err)
		}
	}
	return nil
}

func (x *extractor) entries(tr *tar.Reader) error {
	for n := 0; ; n++ {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return readErr(err)
		}
		if n >= x.limits.MaxEntries {
			return fmt.Errorf("%w: archive has more than the limit of %d entries", hallmark.ErrTooLarge, x.limits.MaxEntries)
		}
		if x.onEntry != nil {
			x.onEntry(n, hdr, x.offset(), x.plain)
		}
		if err := x.entry(tr, hdr); err != nil {
			return err
		}
	}
}

// readErr classifies an error from the tar or gzip reader.
func readErr(err error) error {
	if errors.Is(err, hallmark.ErrTooLarge) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("read archive: %w", err)
	}
	return fmt.Errorf("%w: read archive: %w", hallmark.ErrInvalid, err)
}

func invalidEntry(name, format string, args ...any) error {
	return fmt.Errorf("%w: tar entry %q: %s", hallmark.ErrInvalid, hallmark.Clip(name, 200), fmt.Sprintf(format, args...))
}

// cleanName turns an archive path into a clean, slash-separated path
// relative to the root, or rejects it.
func cleanName(name string) (string, error) {
	if name == "" {
		return "", invalidEntry(name, "empty name")
	}
	if strings.ContainsRune(name, 0) {
		return "", invalidEntry(name, "name contains NUL")
	}
	if strings.HasPrefix(name, "/") {
		return "", invalidEntry(name, "absolute path")
	}
	clean := path.Clean(name)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", invalidEntry(name, "path escapes the extraction directory")
	}
	return clean, nil
}

func (x *extractor) entry(tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	mode := fs.FileMode(hdr.Mode) & fs.ModePerm
	if name == "." {
		if hdr.Typeflag != tar.TypeDir {
			return invalidEntry(hdr.Name, "names the extraction directory")
		}
		return nil // the root's own mode and time stay as they are
	}
	if err := x.mkdirParents(hdr.Name, name); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.dir(hdr, name, mode)
	case tar.TypeReg, tar.TypeGNUSparse:
		return x.file(tr, hdr, name, mode)
	case tar.TypeSymlink:
		return x.symlink(hdr, name)
	case tar.TypeLink:
		return x.hardlink(hdr, name)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return invalidEntry(hdr.Name, "device and fifo entries are not allowed")
	default:
		return invalidEntry(hdr.Name, "unsupported entry type %q", string(hdr.Typeflag))
	}
}

// mkdirParents makes sure every parent of name is a real directory, creating
// missing ones. A parent that is a symlink is rejected: writing through a
// link would make the archive's layout differ from its names.
func (x *extractor) mkdirParents(orig, name string) error {
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		p := strings.Join(parts[:i], "/")
		if x.dirs[p] {
			continue
		}
		fi, err := x.tree.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := x.tree.Mkdir(p, 0o755); err != nil {
				return fmt.Errorf("create directory %q: %w", p, err)
			}
		case err != nil:
			return fmt.Errorf("inspect %q: %w", p, err)
		case fi.Mode()&fs.ModeSymlink != 0:
			return invalidEntry(orig, "parent %q is a symlink", p)
		case !fi.IsDir():
			return invalidEntry(orig, "parent %q is not a directory", p)
		}
		x.dirs[p] = true
	}
	return nil
}

// clearPath removes whatever non-directory is at name so that a new entry
// can take its place, as tar does when an archive repeats a name.
func (x *extractor) clearPath(orig, name string) error {
	fi, err := x.tree.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect %q: %w", name, err)
	}
	if fi.IsDir() {
		return invalidEntry(orig, "would replace a directory")
	}
	if err := x.tree.Remove(name); err != nil {
		return fmt.Errorf("replace %q: %w", name, err)
	}
	return nil
}

func (x *extractor) dir(hdr *tar.Header, name string, mode fs.FileMode) error {
	if !x.dirs[name] {
		fi, err := x.tree.Lstat(name)
		switch {
		case err == nil && fi.IsDir():
		case err == nil || errors.Is(err, fs.ErrNotExist):
			if err == nil {
				if err := x.tree.Remove(name); err != nil {
					return fmt.Errorf("replace %q: %w", name, err)
				}
			}
			if err := x.tree.Mkdir(name, 0o755); err != nil {
				return fmt.Errorf("create directory %q: %w", name, err)
			}
		default:
			return fmt.Errorf("inspect %q: %w", name, err)
		}
		x.dirs[name] = true
	}
	x.dirMetas = append(x.dirMetas, dirMeta{name: name, mode: mode, mtime: hdr.ModTime})
	return nil
}

func (x *extractor) file(tr *tar.Reader, hdr *tar.Header, name string, mode fs.FileMode) error {
	if x.dirs[name] {
		return invalidEntry(hdr.Name, "would replace a directory")
	}
	if err := x.clearPath(hdr.Name, name); err != nil {
		return err
	}
	f, err := x.tree.Create(name)
	if err != nil {
		return fmt.Errorf("create %q: %w", name, err)
	}
	_, err = io.Copy(f, &budgetReader{ctx: x.ctx, r: tr, budget: x.written})
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q: %w", name, readErr(err))
	}
	if err := x.tree.Chtimes(name, hdr.ModTime, hdr.ModTime); err != nil {
		return fmt.Errorf("set time of %q: %w", name, err)
	}
	return nil
}
