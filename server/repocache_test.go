package server

import (
	"fmt"
	"strings"
	"testing"
)

func TestPinnedRepository(t *testing.T) {
	for range 2 {
		if got := pinnedRepository("alpine@sha256:" + strings.Repeat("a", 64)); got != "index.docker.io/library/alpine" {
			t.Errorf("repository = %q, want the normalized index.docker.io/library/alpine", got)
		}
	}
	if got := pinnedRepository("not a reference"); got != "" {
		t.Errorf("repository of a bad reference = %q, want empty", got)
	}
	for i := range maxCachedRepos + 5 {
		pinnedRepository(fmt.Sprintf("registry.example/r%d@sha256:%s", i, strings.Repeat("b", 64)))
	}
	if n := pinnedRepos.Len(); n > maxCachedRepos {
		t.Errorf("cache holds %d, over %d", n, maxCachedRepos)
	}
}
