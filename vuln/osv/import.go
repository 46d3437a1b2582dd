package osv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Import reads the OSV records at path: a JSON file holding one record, a
// directory (its *.json files, subdirectories included, hidden ones and
// symbolic links skipped), or a zip archive such as osv.dev's per-ecosystem
// all.zip, read in memory and never extracted. It returns every record or
// none: a malformed, oversized or hostile input (an entry that inflates
// past its limit, an unsafe entry name, two records with one id, a record
// that breaks the schema) is an error naming the entry, wrapping
// hallmark.ErrInvalid or hallmark.ErrTooLarge.
func Import(ctx context.Context, path string, opts ...Option) ([]Record, ImportInfo, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, ImportInfo{}, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, ImportInfo{}, fmt.Errorf("import %s: %w", path, err)
	}
	c := newCollector(path, o)
	if fi.IsDir() {
		err = c.readDir(ctx, path)
	} else {
		err = c.readFile(ctx, path)
	}
	if err != nil {
		return nil, ImportInfo{}, fmt.Errorf("import %s: %w", path, err)
	}
	return c.records, c.finish(), nil
}

// ImportReader reads the OSV records of one JSON record or one zip
// archive of size bytes from r, as Import reads a file; source names it in
// the ImportInfo and in errors.
func ImportReader(ctx context.Context, source string, r io.ReaderAt, size int64, opts ...Option) ([]Record, ImportInfo, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, ImportInfo{}, err
	}
	c := newCollector(source, o)
	if err := c.readAt(ctx, r, size); err != nil {
		return nil, ImportInfo{}, fmt.Errorf("import %s: %w", source, err)
	}
	return c.records, c.finish(), nil
}

// collector gathers the records of one import and enforces its limits.
type collector struct {
	o        options
	info     ImportInfo
	records  []Record
	entryOf  map[string]string // record id → the entry it came from
	total    int64             // JSON bytes read
	dropped  int               // warnings over maxWarnings
	skipped  int               // entries that are not JSON
	symlinks int               // symbolic links in a directory
}

func newCollector(source string, o options) *collector {
	return &collector{o: o, info: ImportInfo{Source: source}, entryOf: map[string]string{}}
}

func (c *collector) readFile(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: not a regular file", hallmark.ErrInvalid)
	}
	return c.readAt(ctx, f, fi.Size())
}

// readAt reads a JSON record or a zip archive, told apart by the zip
// signature.
func (c *collector) readAt(ctx context.Context, r io.ReaderAt, size int64) error {
	if size < 0 {
		return fmt.Errorf("%w: negative size %d", hallmark.ErrInvalid, size)
	}
	if size > c.o.maxFileBytes {
		return fmt.Errorf("%w: %d bytes (at most %d)", hallmark.ErrTooLarge, size, c.o.maxFileBytes)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	c.info.SHA256 = hex.EncodeToString(h.Sum(nil))
	magic := make([]byte, 4)
	if n, _ := r.ReadAt(magic, 0); n == 4 && (bytes.Equal(magic, []byte("PK\x03\x04")) || bytes.Equal(magic, []byte("PK\x05\x06"))) {
		return c.readZip(ctx, r, size)
	}
	if size > c.o.maxRecordBytes {
		return fmt.Errorf("%w: a record of %d bytes (at most %d)", hallmark.ErrTooLarge, size, c.o.maxRecordBytes)
	}
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read: %w", err)
	}
	if err := c.charge(size); err != nil {
		return err
	}
	return c.add("", data)
}

// charge counts n more JSON bytes against the import's total.
func (c *collector) charge(n int64) error {
	c.total += n
	if c.total > c.o.maxTotalBytes {
		return fmt.Errorf("%w: the records inflate to more than %d bytes", hallmark.ErrTooLarge, c.o.maxTotalBytes)
	}
	return nil
}

// add parses one record read from entry ("" for a single file).
func (c *collector) add(entry string, data []byte) error {
	where := func(err error) error {
		if entry == "" {
			return err
		}
		return fmt.Errorf("entry %q: %w", hallmark.Clip(entry, 128), err)
	}
	if len(c.records) >= c.o.maxRecords {
		return where(fmt.Errorf("%w: more than %d records", hallmark.ErrTooLarge, c.o.maxRecords))
	}
	r, warnings, err := parse(data, c.o.maxRecordBytes)
	if err != nil {
		return where(err)
	}
	if prev, dup := c.entryOf[r.ID]; dup {
		return where(fmt.Errorf("%w: duplicate record id %s (also in entry %q)", hallmark.ErrInvalid, r.ID, hallmark.Clip(prev, 128)))
	}
	c.entryOf[r.ID] = entry
	for _, w := range warnings {
		c.warn(w)
	}
	c.records = append(c.records, r)
	if c.o.onJSON != nil {
		c.o.onJSON(r.ID, data)
	}
	if r.Modified.After(c.info.NewestModified) {
		c.info.NewestModified = r.Modified
	}
	return nil
}

func (c *collector) warn(w string) {
	if len(c.info.Warnings) < maxWarnings {
		c.info.Warnings = append(c.info.Warnings, w)
	} else {
		c.dropped++
	}
}

func (c *collector) finish() ImportInfo {
	if c.skipped > 0 {
		c.warn(fmt.Sprintf("skipped %d entries that are not .json files", c.skipped))
	}
	if c.symlinks > 0 {
		c.warn(fmt.Sprintf("skipped %d symbolic links", c.symlinks))
	}
	if c.dropped > 0 {
		c.info.Warnings = append(c.info.Warnings, fmt.Sprintf("and %d more warnings", c.dropped))
	}
	c.info.Records = len(c.records)
	return c.info
}
