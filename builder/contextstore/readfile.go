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
// name would find it, but without writing anything. It resolves name as
// os.Root does, following symlinks, in the archive's index: its tree of
// names, applied in memory with extraction's rules and limits (the same
// code, so an archive Extract refuses is refused here too), with where
// each entry's content is. Put makes the index while it receives the
// archive; a process that did not receive it (another replica, or this
// one after a restart) reads the stored archive once to make it, and
// checks then that the stored bytes hash to d. It then reads the content
// of the entry that file came from: in an uncompressed archive straight
// at its offset, otherwise by reading the archive up to it. A missing name
// gives a *FileError wrapping fs.ErrNotExist, a directory or other
// non-regular file ErrNotRegular, a file over max bytes
// hallmark.ErrTooLarge; other errors are about the archive. An archive
// whose names alone take more than 64 MiB of memory is refused with
// hallmark.ErrTooLarge even if Extract would take it. File and directory
// modes are not consulted: the gateway reads as root.
func (s *Store) ReadFile(ctx context.Context, d hallmark.Digest, name string, max int64) ([]byte, error) {
	if _, err := hallmark.ParseDigest(string(d)); err != nil {
		return nil, fmt.Errorf("open context: %w", err)
	}
	// Put indexed the archive as it received and hashed it, unless
	// another process did, or this one restarted since.
	ix := s.index.get(d.Hex())
	if ix == nil {
		var err error
		if ix, err = s.indexArchive(ctx, d); err != nil {
			return nil, err
		}
	}
	entry, err := resolveEntry(ix.tree, name)
	if err != nil {
		return nil, err
	}
	rc, err := s.Open(d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if ix != nil && ix.plain && ix.entries[entry].direct {
		e := ix.entries[entry]
		ra, ok := rc.(io.ReaderAt)
		if ok {
			return readContent(io.NewSectionReader(ra, e.offset, e.size), name, max)
		}
	}
	src, _, done, err := decompress(&ctxReader{ctx: ctx, r: rc})
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
		return readContent(tr, name, max)
	}
}

// readContent reads the content of the file name from r, at most max bytes.
func readContent(r io.Reader, name string, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", name, readErr(err))
	}
	if int64(len(data)) > max {
		return nil, &FileError{Name: name, Err: fmt.Errorf("%w: it is over %d bytes", hallmark.ErrTooLarge, max)}
	}
	return data, nil
}

// indexArchive applies the stored archive d to a memTree, checks that it
// hashes to d, and keeps and returns its index.
func (s *Store) indexArchive(ctx context.Context, d hallmark.Digest) (*archiveIndex, error) {
	rc, err := s.Open(d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	h := sha256.New()
	tee := io.TeeReader(rc, h)
	ix := &archiveIndex{tree: newMemTree()}
	if err := applyTar(ctx, tee, ix.tree, s.opts.limits, ix.record); err != nil {
		return nil, err
	}
	if err := checkHash(tee, h, d); err != nil {
		return nil, err
	}
	s.index.put(d.Hex(), ix)
	return ix, nil
}

// resolveEntry returns the number of the entry that wrote the content of
// the regular file name resolves to in t.
func resolveEntry(t *memTree, name string) (int, error) {
	p, fi, err := lookup(t, name)
	if err != nil {
		return 0, &FileError{Name: name, Err: err}
	}
	if !fi.Mode().IsRegular() {
		return 0, &FileError{Name: name, Err: ErrNotRegular}
	}
	return t.nodes[p].entry, nil
}
