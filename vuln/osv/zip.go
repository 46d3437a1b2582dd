package osv

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
)

// maxEntryName bounds an entry's name; osv.dev names entries "<ID>.json".
const maxEntryName = 255

// readZip reads the records of a zip archive. Before archive/zip reads the
// central directory, the end record's entry count and directory size are
// checked, so that a crafted archive cannot make it allocate millions of
// entries; then each entry's name, flags, method and declared size are
// checked before it is opened, and no more than the limits is inflated.
func (c *collector) readZip(ctx context.Context, r io.ReaderAt, size int64) error {
	entries, dirSize, err := endOfDirectory(r, size)
	if err != nil {
		return err
	}
	if entries > uint64(c.o.maxRecords) {
		return fmt.Errorf("%w: the archive lists %d entries (at most %d)", hallmark.ErrTooLarge, entries, c.o.maxRecords)
	}
	if dirSize > entries*(46+3*maxEntryName) {
		return fmt.Errorf("%w: the archive's directory is %d bytes for %d entries", hallmark.ErrInvalid, dirSize, entries)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("%w: not a zip archive: %s", hallmark.ErrInvalid, hallmark.Clip(err.Error(), 128))
	}
	names := make(map[string]bool, len(zr.File))
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := checkEntryName(f.Name); err != nil {
			return fmt.Errorf("entry %q: %w", hallmark.Clip(f.Name, 128), err)
		}
		if names[f.Name] {
			return fmt.Errorf("entry %q: %w: the name occurs twice", hallmark.Clip(f.Name, 128), hallmark.ErrInvalid)
		}
		names[f.Name] = true
		switch {
		case strings.HasSuffix(f.Name, "/"):
			continue
		case !strings.HasSuffix(f.Name, ".json"):
			c.skipped++
			continue
		}
		data, err := c.readEntry(f)
		if err != nil {
			return fmt.Errorf("entry %q: %w", hallmark.Clip(f.Name, 128), err)
		}
		if err := c.add(f.Name, data); err != nil {
			return err
		}
	}
	return nil
}

// readEntry inflates one entry, at most maxRecordBytes of it.
func (c *collector) readEntry(f *zip.File) ([]byte, error) {
	switch {
	case f.Flags&0x1 != 0:
		return nil, fmt.Errorf("%w: the entry is encrypted", hallmark.ErrInvalid)
	case f.Method != zip.Store && f.Method != zip.Deflate:
		return nil, fmt.Errorf("%w: compression method %d (only stored and deflated entries are read)", hallmark.ErrInvalid, f.Method)
	case f.UncompressedSize64 > uint64(c.o.maxRecordBytes):
		return nil, fmt.Errorf("%w: the entry declares %d bytes (at most %d)", hallmark.ErrTooLarge, f.UncompressedSize64, c.o.maxRecordBytes)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", hallmark.ErrInvalid, hallmark.Clip(err.Error(), 128))
	}
	defer rc.Close()
	// archive/zip fails a read past the declared size; the limit stops an
	// entry whose header is wrong in some other way.
	var buf bytes.Buffer
	buf.Grow(int(f.UncompressedSize64))
	n, err := io.Copy(&buf, io.LimitReader(rc, c.o.maxRecordBytes+1))
	if cerr := c.charge(n); cerr != nil {
		return nil, cerr
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: the entry does not inflate: %s", hallmark.ErrInvalid, hallmark.Clip(err.Error(), 128))
	case n > c.o.maxRecordBytes:
		return nil, fmt.Errorf("%w: the entry inflates past %d bytes", hallmark.ErrTooLarge, c.o.maxRecordBytes)
	}
	return buf.Bytes(), nil
}

// checkEntryName refuses names that would be unsafe to extract, though
// nothing is extracted: absolute paths, "..", backslashes, control
// characters, over-long names. osv.dev archives hold plain file names.
func checkEntryName(name string) error {
	switch {
	case name == "" || len(name) > maxEntryName:
		return fmt.Errorf("%w: an entry name must have 1 to %d bytes", hallmark.ErrInvalid, maxEntryName)
	case strings.HasPrefix(name, "/") || strings.Contains(name, "\\"):
		return fmt.Errorf("%w: an absolute path or a backslash", hallmark.ErrInvalid)
	case !printable(name):
		return fmt.Errorf("%w: control characters in the entry name", hallmark.ErrInvalid)
	}
	for _, el := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("%w: the entry name has an empty, . or .. element", hallmark.ErrInvalid)
		}
	}
	if path.Clean(strings.TrimSuffix(name, "/")) != strings.TrimSuffix(name, "/") {
		return fmt.Errorf("%w: the entry name is not clean", hallmark.ErrInvalid)
	}
	return nil
}

// endOfDirectory reads the zip end record (and the zip64 one it points at)
// and returns the number of entries and the size of the central directory.
func endOfDirectory(r io.ReaderAt, size int64) (entries, dirSize uint64, err error) {
	const endLen, maxComment = 22, 65535
	tail := min(size, endLen+maxComment)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, fmt.Errorf("read: %w", err)
	}
	at := bytes.LastIndex(buf, []byte("PK\x05\x06"))
	if at < 0 || len(buf)-at < endLen {
		return 0, 0, fmt.Errorf("%w: not a zip archive: no end of central directory", hallmark.ErrInvalid)
	}
	end := buf[at:]
	entries = uint64(binary.LittleEndian.Uint16(end[10:]))
	dirSize = uint64(binary.LittleEndian.Uint32(end[12:]))
	if entries != 0xffff && dirSize != 0xffffffff {
		return entries, dirSize, nil
	}
	// zip64: the locator sits just before the end record.
	locAt := size - tail + int64(at) - 20
	loc := make([]byte, 20)
	if locAt < 0 {
		return 0, 0, fmt.Errorf("%w: a zip64 archive without its locator", hallmark.ErrInvalid)
	}
	if _, err := r.ReadAt(loc, locAt); err != nil || !bytes.HasPrefix(loc, []byte("PK\x06\x07")) {
		return 0, 0, fmt.Errorf("%w: a zip64 archive without its locator", hallmark.ErrInvalid)
	}
	endAt := binary.LittleEndian.Uint64(loc[8:])
	end64 := make([]byte, 56)
	if endAt > uint64(size) {
		return 0, 0, fmt.Errorf("%w: the zip64 end record is outside the archive", hallmark.ErrInvalid)
	}
	if _, err := r.ReadAt(end64, int64(endAt)); err != nil || !bytes.HasPrefix(end64, []byte("PK\x06\x06")) {
		return 0, 0, fmt.Errorf("%w: a zip64 archive without its end record", hallmark.ErrInvalid)
	}
	return binary.LittleEndian.Uint64(end64[32:]), binary.LittleEndian.Uint64(end64[40:]), nil
}
