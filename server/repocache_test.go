package server

import (
	"fmt"
	"strings"
	"testing"
)

func TestRepoCache(t *testing.T) {
	var c repoCache
	for range 2 {
		if got := c.repository("alpine@sha256:" + strings.Repeat("a", 64)); got != "index.docker.io/library/alpine" {
			t.Errorf("repository = %q, want the normalized index.docker.io/library/alpine", got)
		}
	}
	if got := c.repository("not a reference"); got != "" {
		t.Errorf("repository of a bad reference = %q, want empty", got)
	}
	for i := range maxCachedRepos + 5 {
		c.repository(fmt.Sprintf("registry.example/r%d@sha256:%s", i, strings.Repeat("b", 64)))
	}
	if len(c.repos) > maxCachedRepos {
		t.Errorf("cache holds %d, over %d", len(c.repos), maxCachedRepos)
	}
}
