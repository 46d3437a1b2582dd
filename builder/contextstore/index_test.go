package contextstore

import (
	"slices"
	"testing"
)

// indexOf is an index whose cost is n bytes.
func indexOf(n int64) *archiveIndex {
	return &archiveIndex{tree: &memTree{nodes: map[string]*memNode{}, bytes: n}}
}

func TestIndexCache(t *testing.T) {
	type op struct {
		put    string // put this key with cost
		cost   int64
		remove string
	}
	tests := []struct {
		name string
		ops  []op
		want []string // kept, oldest first
		used int64
	}{
		{name: "fits", ops: []op{{put: "a", cost: 40}, {put: "b", cost: 60}}, want: []string{"a", "b"}, used: 100},
		{name: "oldest dropped first", ops: []op{{put: "a", cost: 40}, {put: "b", cost: 40}, {put: "c", cost: 40}}, want: []string{"b", "c"}, used: 80},
		{name: "drops as many as needed", ops: []op{{put: "a", cost: 30}, {put: "b", cost: 30}, {put: "c", cost: 90}}, want: []string{"c"}, used: 90},
		{name: "over the limit alone is not kept", ops: []op{{put: "a", cost: 30}, {put: "big", cost: 101}}, want: []string{"a"}, used: 30},
		{name: "put again replaces and renews", ops: []op{{put: "a", cost: 30}, {put: "b", cost: 30}, {put: "a", cost: 50}, {put: "c", cost: 40}}, want: []string{"a", "c"}, used: 90},
		{name: "remove", ops: []op{{put: "a", cost: 30}, {put: "b", cost: 30}, {remove: "a"}, {remove: "missing"}}, want: []string{"b"}, used: 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newIndexCache(100)
			for _, o := range tc.ops {
				if o.remove != "" {
					c.remove(o.remove)
					continue
				}
				c.put(o.put, indexOf(o.cost))
			}
			if !slices.Equal(c.order, tc.want) || c.used != tc.used || len(c.m) != len(tc.want) {
				t.Fatalf("kept %v (%d entries), %d bytes; want %v, %d bytes", c.order, len(c.m), c.used, tc.want, tc.used)
			}
			for _, k := range tc.want {
				if c.get(k) == nil {
					t.Errorf("get(%q) = nil", k)
				}
			}
		})
	}
}
