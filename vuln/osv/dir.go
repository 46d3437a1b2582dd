package osv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
)

// readDir reads every *.json file below dir through an os.Root, in lexical
// order, skipping hidden directories (.git) and symbolic links. The
// import's SHA256 is that of the listing of relative paths and file
// hashes.
func (c *collector) readDir(ctx context.Context, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	fsys := root.FS()
	listing := sha256.New()
	seen := 0
	err = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if seen++; seen > 2*c.o.maxRecords {
			return fmt.Errorf("%w: more than %d directory entries", hallmark.ErrTooLarge, 2*c.o.maxRecords)
		}
		switch {
		case d.IsDir():
			if name != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			c.symlinks++
			return nil
		case !d.Type().IsRegular() || !strings.HasSuffix(name, ".json") || strings.HasPrefix(d.Name(), "."):
			c.skipped++
			return nil
		}
		data, err := c.readDirFile(fsys, name)
		if err != nil {
			return fmt.Errorf("file %q: %w", hallmark.Clip(name, 128), err)
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(listing, "%s\x00%s\n", name, hex.EncodeToString(sum[:]))
		return c.add(name, data)
	})
	if err != nil {
		return err
	}
	c.info.SHA256 = hex.EncodeToString(listing.Sum(nil))
	return nil
}

// readDirFile reads one file of at most maxRecordBytes.
func (c *collector) readDirFile(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: not a regular file", hallmark.ErrInvalid)
	}
	if fi.Size() > c.o.maxRecordBytes {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", hallmark.ErrTooLarge, fi.Size(), c.o.maxRecordBytes)
	}
	data, err := io.ReadAll(io.LimitReader(f, c.o.maxRecordBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > c.o.maxRecordBytes {
		return nil, fmt.Errorf("%w: grew past %d bytes while read", hallmark.ErrTooLarge, c.o.maxRecordBytes)
	}
	if err := c.charge(int64(len(data))); err != nil {
		return nil, err
	}
	return data, nil
}
