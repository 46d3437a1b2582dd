package verify

import (
	"context"
	"sync"

	"golang.org/x/sync/semaphore"
)

// slots bounds the verifications that run at once. A verification waits
// for a slot, first come first served, until its context ends; verdicts
// served from the cache never take one.
type slots struct {
	size    int64
	sem     *semaphore.Weighted
	mu      sync.Mutex
	waiting int64
	running int64
	observe func(waiting, running int64)
}

func newSlots(n int, observe func(waiting, running int64)) *slots {
	return &slots{size: int64(n), sem: semaphore.NewWeighted(int64(n)), observe: observe}
}

// acquire waits for a slot; release gives it back. The error is ctx's.
func (s *slots) acquire(ctx context.Context) (release func(), err error) {
	s.count(1, 0)
	if err := s.sem.Acquire(ctx, 1); err != nil {
		s.count(-1, 0)
		return nil, err
	}
	s.count(-1, 1)
	return func() {
		s.sem.Release(1)
		s.count(0, -1)
	}, nil
}

// count changes the numbers of waiting and running verifications and
// reports them, in order, to the observer.
func (s *slots) count(waiting, running int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiting += waiting
	s.running += running
	if s.observe != nil {
		s.observe(s.waiting, s.running)
	}
}
