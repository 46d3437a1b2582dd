package contextstore

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/hallmark-dev/hallmark"
)

// ErrNotRegular is the error of ReadFile for a name that resolves to
// something other than a regular file, such as a directory.
var ErrNotRegular = errors.New("not a regular file")

// FileError is ReadFile's error about the file it was asked for, rather
// than about the archive: Err wraps fs.ErrNotExist, ErrNotRegular,
// hallmark.ErrTooLarge, or what os.Root would answer (a *fs.PathError).
type FileError struct {
	Name string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("read %q from the context: %v", e.Name, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// ReadFile returns the content of the file name (slash-separated, relative)
// in the stored archive d, exactly as Extract followed by os.Root.Open on
// name would find it, but without writing anything: a first pass applies
// the archive to a tree of names in memory with extraction's rules and
// limits (the same code, so an archive Extract refuses is refused here
// too) and resolves name there as os.Root does, following symlinks inside
// the tree; a second pass reads the content of the entry that file came
// from. It also checks that the stored bytes hash to d. A missing name
// gives a *FileError wrapping fs.ErrNotExist, a directory or other
// non-regular file ErrNotRegular, a file over max bytes
// hallmark.ErrTooLarge; other errors are about the archive. An archive
// whose names alone take more than 64 MiB of memory is refused with
// hallmark.ErrTooLarge even if Extract would take it. File and directory
// modes are not consulted: the gateway reads as root.
func (s *Store) ReadFile(ctx context.Context, d hallmark.Digest, name string, max int64) ([]byte, error) {
	entry, err := s.findEntry(ctx, d, name)
	if err != nil {
		return nil, err
	}
	rc, err := s.Open(d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	src, done, err := decompress(&ctxReader{ctx: ctx, r: rc})
	if err != nil {
		return nil, err
	}
	defer done()
	tr := tar.NewReader(src)
	for n := 0; ; n++ {
		if _, err := tr.Next(); err != nil {
			return nil, fmt.Errorf("read stored context again: %w", readErr(err))
		}
		if n < entry {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, max+1))
		if err != nil {
			return nil, fmt.Errorf("read %q: %w", name, readErr(err))
		}
		if int64(len(data)) > max {
			return nil, &FileError{Name: name, Err: fmt.Errorf("%w: it is over %d bytes", hallmark.ErrTooLarge, max)}
		}
		return data, nil
	}
}

// findEntry applies the archive d to a memTree and returns the number of
// the entry that wrote the content of the regular file name resolves to.
func (s *Store) findEntry(ctx context.Context, d hallmark.Digest, name string) (int, error) {
	rc, err := s.Open(d)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	h := sha256.New()
	tee := io.TeeReader(rc, h)
	t := newMemTree()
	if err := applyTar(ctx, tee, t, s.opts.limits, func(n int) { t.entry = n }); err != nil {
		return 0, err
	}
	if err := checkHash(tee, h, d); err != nil {
		return 0, err
	}
	p, fi, err := lookup(t, name)
	if err != nil {
		return 0, &FileError{Name: name, Err: err}
	}
	if !fi.Mode().IsRegular() {
		return 0, &FileError{Name: name, Err: ErrNotRegular}
	}
	return t.nodes[p].entry, nil
}
