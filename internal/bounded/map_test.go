package bounded

import (
	"sync"
	"testing"
)

func TestMap(t *testing.T) {
	m := New[string, int](3)
	if _, ok := m.Get("a"); ok {
		t.Fatal("an empty map has a value")
	}
	for i, k := range []string{"a", "b", "c"} {
		m.Put(k, i)
	}
	m.Put("a", 10) // replacing never drops another
	if v, ok := m.Get("a"); !ok || v != 10 || m.Len() != 3 {
		t.Fatalf("Get(a) = %d, %v with %d entries; want 10 and 3 entries", v, ok, m.Len())
	}
	m.Put("d", 4)
	if v, ok := m.Get("d"); !ok || v != 4 || m.Len() != 3 {
		t.Fatalf("after adding to a full map: Get(d) = %d, %v with %d entries; want 4 and 3 entries", v, ok, m.Len())
	}
	if New[int, int](0).max != 1 {
		t.Error("a bound below 1 is not raised to 1")
	}
}

func TestMapConcurrent(t *testing.T) {
	m := New[int, int](16)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				m.Put(g*1000+i, i)
				m.Get(i)
			}
		})
	}
	wg.Wait()
	if m.Len() > 16 {
		t.Fatalf("%d entries, over the bound of 16", m.Len())
	}
}
