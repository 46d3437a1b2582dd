//go:build !unix

package contextstore

// lock takes the store's in-process lock; without flock, processes sharing
// the directory do not coordinate.
func (s *Store) lock() (unlock func(), err error) {
	s.mu.Lock()
	return s.mu.Unlock, nil
}
