//go:build unix

package contextstore

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lock takes the store's in-process lock and then the lock file, which
// other processes sharing the directory take too.
func (s *Store) lock() (unlock func(), err error) {
	s.mu.Lock()
	f, err := os.OpenFile(filepath.Join(s.dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("lock context store: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		s.mu.Unlock()
		return nil, fmt.Errorf("lock context store: %w", err)
	}
	return func() {
		f.Close() // releases the flock
		s.mu.Unlock()
	}, nil
}
