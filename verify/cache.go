package verify

import (
	lru "container/list"
	"sync"
	"time"
)

// verdictCache holds verdicts by key (digest, policy hash, trusted-root
// version: never a tag) until they expire, evicting the least recently used
// beyond its capacity. Only successes and definite failures are stored;
// errors never reach it.
type verdictCache struct {
	mu       sync.Mutex
	capacity int
	ll       *lru.List // front = most recently used
	items    map[string]*lru.Element
	now      func() time.Time
}

type cacheEntry struct {
	key     string
	verdict *Verdict
	expires time.Time
}

func newVerdictCache(capacity int, now func() time.Time) *verdictCache {
	return &verdictCache{capacity: capacity, ll: lru.New(), items: map[string]*lru.Element{}, now: now}
}

// get returns the unexpired verdict for key, or nil.
func (c *verdictCache) get(key string) *Verdict {
	if c == nil || c.capacity <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.ll.Remove(el)
		delete(c.items, key)
		return nil
	}
	c.ll.MoveToFront(el)
	return e.verdict
}

// put stores v under key for ttl.
func (c *verdictCache) put(key string, v *Verdict, ttl time.Duration) {
	if c == nil || c.capacity <= 0 || ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &cacheEntry{key: key, verdict: v, expires: c.now().Add(ttl)}
	if el, ok := c.items[key]; ok {
		el.Value = e
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(e)
	for c.ll.Len() > c.capacity {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}

// len returns the number of entries, expired or not.
func (c *verdictCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
