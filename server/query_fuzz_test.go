package server

import (
	"strings"
	"testing"
)

// FuzzQueryFilters: the repository, base and package filters never panic, and what they
// accept carries no quote, semicolon or control character to the store.
func FuzzQueryFilters(f *testing.F) {
	for _, s := range []string{"", "reg.example/a:1", "alpine", "sha256:" + strings.Repeat("a", 64), "reg.example/a@sha256:" + strings.Repeat("b", 64),
		"pkg:deb/debian/openssl@3.0.11?arch=amd64", "pkg:npm/%40types/node@20", "openssl@3", "@scoped", "x' OR '1'='1", "pkg:a/b%27c@1", "a@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var values []string
		if r, err := repositoryFilter("repository", s); err == nil {
			values = append(values, r)
		}
		if d, ref, err := baseFilter(s); err == nil {
			values = append(values, string(d), ref)
		}
		if p, err := packageFilter(s); err == nil && p != nil {
			values = append(values, p.Type, p.Namespace, p.Name, p.Version)
		}
		for _, v := range values {
			if strings.ContainsAny(v, "'\";\x00") {
				t.Errorf("%q accepted as %q", s, v)
			}
		}
	})
}
