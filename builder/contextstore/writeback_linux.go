package contextstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing n bytes of f at off to
// disk, without waiting for it (sync_file_range with
// SYNC_FILE_RANGE_WRITE). It is only a hint: a later Sync still makes the
// file durable, and errors are left for it to report.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
