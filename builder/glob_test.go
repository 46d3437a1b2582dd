package builder

import (
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
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
		{"registry.example.com/base/**", "registry.example.com/base", true},
		{"registry.example.com/base/**", "registry.example.com/other/a", false},
		{"**", "anything/at/all", true},
		{"/app/**/fixtures/*", "/app/fixtures/key.pem", true},
		{"/app/**/fixtures/*", "/app/a/b/fixtures/key.pem", true},
		{"/app/**/fixtures/*", "/app/a/b/fixtures/sub/key.pem", false},
		{"/etc/ssl/private/*.key", "/etc/ssl/private/ssl-cert-snakeoil.key", true},
		{"/**/**/x", "/x", true},
		{"env:SECRET_KEY_BASE_DUMMY", "env:SECRET_KEY_BASE_DUMMY", true},
		{"env:*", "env:API_TOKEN", true},
		{"label:*", "env:API_TOKEN", false},
		{"ghcr.io/acme/[ab]pp", "ghcr.io/acme/app", true},
		{`ghcr.io/acme/\*`, "ghcr.io/acme/x", false},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.pattern)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", tt.pattern, err)
		}
		if got := g.match(tt.name); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestGlobErrors(t *testing.T) {
	for _, p := range []string{"", "[", "a/[b", "docker.io/**x", "a**/b", `a\`} {
		err := CheckGlob(p)
		if err == nil {
			t.Errorf("CheckGlob(%q) succeeded", p)
			continue
		}
		if p != "" && !strings.Contains(err.Error(), p) {
			t.Errorf("CheckGlob(%q) = %v; want it to quote the pattern", p, err)
		}
	}
	_, err := compileGlobs("base image allow pattern", []string{"ok/*", "also/ok", "["})
	if err == nil || !strings.Contains(err.Error(), "[2]") {
		t.Errorf("compileGlobs error %v does not name index 2", err)
	}
}
