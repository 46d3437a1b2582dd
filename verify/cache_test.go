package verify

import (
	"testing"
	"time"
)

func TestVerdictCacheEvictsLeastRecentlyUsed(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newVerdictCache(2, func() time.Time { return now })
	a, b, d := &Verdict{Ref: "a"}, &Verdict{Ref: "b"}, &Verdict{Ref: "d"}
	c.put("a", a, time.Minute)
	c.put("b", b, time.Minute)
	if c.get("a") != a { // a is now the most recently used
		t.Fatal("a missing")
	}
	c.put("d", d, time.Minute)
	if c.len() != 2 || c.get("b") != nil || c.get("a") != a || c.get("d") != d {
		t.Errorf("after overflow: len %d, b %v, a %v, d %v; want b evicted", c.len(), c.get("b"), c.get("a"), c.get("d"))
	}
	now = now.Add(time.Minute)
	if c.get("a") != nil || c.len() != 1 {
		t.Errorf("expired entry served or kept: len %d", c.len())
	}
	c.put("z", a, 0)
	if c.get("z") != nil {
		t.Error("a zero TTL was cached")
	}
	off := newVerdictCache(0, time.Now)
	off.put("a", a, time.Minute)
	if off.get("a") != nil {
		t.Error("a zero-capacity cache stored a verdict")
	}
}
