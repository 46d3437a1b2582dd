package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// spooledContext is a context's archive, written once to a temporary file
// while it was hashed: what is sent is exactly what was hashed, however the
// directory changes after it was read.
type spooledContext struct {
	f      *os.File
	digest string // "sha256:<hex>"
	size   int64
}

// spool writes the archive to a new temporary file in dir (os.TempDir()
// when ""), hashing it on the way. Close removes the file.
func (bc *buildContext) spool(dir string) (*spooledContext, error) {
	f, err := os.CreateTemp(dir, "hallmark-context-*.tar")
	if err != nil {
		return nil, fmt.Errorf("spool context: %w", err)
	}
	sp := &spooledContext{f: f}
	h := sha256.New()
	bw := bufio.NewWriterSize(f, 1<<20)
	cw := &countWriter{w: io.MultiWriter(bw, h)}
	err = bc.writeTar(cw)
	if err == nil {
		if err = bw.Flush(); err != nil {
			err = fmt.Errorf("spool context: %w", err)
		}
	}
	if err != nil {
		return nil, errors.Join(err, sp.Close())
	}
	sp.digest, sp.size = "sha256:"+hex.EncodeToString(h.Sum(nil)), cw.n
	return sp, nil
}

// reader reads the archive from its start.
func (sp *spooledContext) reader() io.Reader { return io.NewSectionReader(sp.f, 0, sp.size) }

// Close removes the file.
func (sp *spooledContext) Close() error {
	err := sp.f.Close()
	if rerr := os.Remove(sp.f.Name()); rerr != nil {
		err = errors.Join(err, fmt.Errorf("remove spooled context: %w", rerr))
	}
	return err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// changedError is a context file that changed while it was archived: its
// size or modification time after reading differ from before.
type changedError struct {
	rel               string
	size, sizeAfter   int64
	mtime, mtimeAfter time.Time
}

func (e *changedError) Error() string {
	what := fmt.Sprintf("size %d, then %d bytes", e.size, e.sizeAfter)
	if e.size == e.sizeAfter {
		what = fmt.Sprintf("modified at %s, then at %s", e.mtime.Format(time.RFC3339Nano), e.mtimeAfter.Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("%s changed while it was read (%s): stop writing to it during the build, or exclude it in .dockerignore", e.rel, what)
}
