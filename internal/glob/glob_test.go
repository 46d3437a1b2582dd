package glob

import (
	"strings"
	"testing"
)

// TestMatch holds the cases of both former dialects (authorization rules
// and the builder's allowlists); the two that differed are marked.
func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"docker.io/library/*", "docker.io/library/alpine", true},
		{"docker.io/library/*", "docker.io/library/a/b", false},
		{"docker.io/library/*", "docker.io/acme/alpine", false},
		{"127.0.0.1:*/hallmark/*", "127.0.0.1:7434/hallmark/static", true},
		{"127.0.0.1:*/hallmark/*", "127.0.0.1:7434/hallmark/tools/go", false},
		{"127.0.0.1:*/hallmark/*", "127.0.0.2:7434/hallmark/static", false},
		{"registry.example.com/base/**", "registry.example.com/base/a/b/c", true},
		{"registry.example.com/base/**", "registry.example.com/base/a", true},
		// The builder's dialect matched the prefix itself; authorization's
		// did not. One dialect now: a trailing ** needs a segment.
		{"registry.example.com/base/**", "registry.example.com/base", false},
		{"registry.example.com/base/**", "registry.example.com/base/", false},
		{"registry.example.com/base/**", "registry.example.com/other/a", false},
		{"**", "anything/at/all", true},
		{"**", "", false},
		{"/app/**/fixtures/*", "/app/fixtures/key.pem", true},
		{"/app/**/fixtures/*", "/app/a/b/fixtures/key.pem", true},
		{"/app/**/fixtures/*", "/app/a/b/fixtures/sub/key.pem", false},
		// Authorization's dialect refused ** in the middle; now it crosses
		// zero or more segments there, as in the builder's.
		{"r/**/x", "r/x", true},
		{"r/**/x", "r/a/b/x", true},
		{"/etc/ssl/private/*.key", "/etc/ssl/private/ssl-cert-snakeoil.key", true},
		{"/**/**/x", "/x", true},
		{"env:SECRET_KEY_BASE_DUMMY", "env:SECRET_KEY_BASE_DUMMY", true},
		{"env:*", "env:API_TOKEN", true},
		{"label:*", "env:API_TOKEN", false},
		{"ghcr.io/acme/[ab]pp", "ghcr.io/acme/app", true},
		{`ghcr.io/acme/\*`, "ghcr.io/acme/x", false},
		{"repo:acme/*:ref:refs/heads/main", "repo:acme/app:ref:refs/heads/main", true},
		{"repo:acme/*:ref:refs/heads/main", "repo:acme/app:ref:refs/heads/dev", false},
		{"repo:acme/**", "repo:acme/app:ref:refs/heads/dev", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.name, func(t *testing.T) {
			g, err := Compile(tt.pattern)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.pattern, err)
			}
			if got := g.Match(tt.name); got != tt.want {
				t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.name, got, tt.want)
			}
			if got := Match(tt.pattern, tt.name); got != tt.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for _, p := range []string{"", "[", "a/[b", "docker.io/**x", "a**/b", `a\`} {
		err := Check(p)
		if err == nil {
			t.Errorf("Check(%q) succeeded", p)
			continue
		}
		if p != "" && !strings.Contains(err.Error(), p) {
			t.Errorf("Check(%q) = %v; want it to quote the pattern", p, err)
		}
		if Match(p, "x") {
			t.Errorf("Match(%q, x) = true for a bad pattern", p)
		}
	}
	_, err := CompileAll("base image allow pattern", []string{"ok/*", "also/ok", "["})
	if err == nil || !strings.Contains(err.Error(), "[2]") {
		t.Errorf("CompileAll error %v does not name index 2", err)
	}
	if (Pattern{}).Match("") {
		t.Error("the zero Pattern matches")
	}
}

func TestFirst(t *testing.T) {
	gs, err := CompileAll("p", []string{"a/*", "a/**", "b/*"})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := First(gs, "a/x/y"); !ok || got != "a/**" {
		t.Errorf("First = %q, %v; want a/**", got, ok)
	}
	if _, ok := First(gs, "c/x"); ok {
		t.Error("First matched c/x")
	}
}

func TestMatchesAny(t *testing.T) {
	ps, err := CompileAll("p", []string{"docker.io/library/*", "reg.example/a/**"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		names []string
		want  bool
	}{
		{[]string{"index.docker.io/library/alpine", "docker.io/library/alpine"}, true},
		{[]string{"reg.example/a/b/c"}, true},
		{[]string{"reg.example/a", "reg.example/b/x"}, false},
		{nil, false},
	} {
		if got := MatchesAny(ps, tt.names); got != tt.want {
			t.Errorf("MatchesAny(%q) = %v, want %v", tt.names, got, tt.want)
		}
	}
}
