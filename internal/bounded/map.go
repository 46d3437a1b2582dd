package bounded

import "sync"

// Map holds at most a fixed number of entries. The zero value is not
// usable: call New.
type Map[K comparable, V any] struct {
	max int

	mu sync.Mutex
	m  map[K]V
}

// New returns a Map of at most n entries (at least 1).
func New[K comparable, V any](n int) *Map[K, V] {
	return &Map[K, V]{max: max(n, 1), m: map[K]V{}}
}

// Get returns the value of k and whether there is one.
func (b *Map[K, V]) Get(k K) (V, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[k]
	return v, ok
}

// Put sets the value of k, dropping another entry first if the map is full.
func (b *Map[K, V]) Put(k K, v V) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.m[k]; !ok && len(b.m) >= b.max {
		for old := range b.m {
			delete(b.m, old)
			break
		}
	}
	b.m[k] = v
}

// Len is the number of entries.
func (b *Map[K, V]) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}
