package server

import (
	"errors"
	"slices"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/config"
)

// readScopeRules are the rules of the read-scope tests: a team that pushes
// to its repositories (and reads the base allowlist), a team with its own
// pull patterns, and read-only release engineers.
func readScopeRules() []config.Rule {
	const gh = "https://token.actions.githubusercontent.com"
	return []config.Rule{
		{Issuer: gh, Subject: "repo:acme/*:*", Claims: map[string]string{"repository_owner": "acme"},
			Repositories: []string{"registry.example.com/acme/*"}},
		{Issuer: gh, Subject: "repo:acme/platform:*",
			Repositories: []string{"registry.example.com/platform/**"}, Pull: []string{"registry.example.com/teamb/shared", "docker.io/library/*"}},
		{Issuer: gh, Subject: "repo:acme/release:*", Pull: []string{"registry.example.com/**"}},
	}
}

func ghID(subject string, claims map[string]any) hallmark.Identity {
	return hallmark.Identity{Issuer: "https://token.actions.githubusercontent.com", Subject: subject, Claims: claims}
}

func TestReadable(t *testing.T) {
	acme := map[string]any{"repository_owner": "acme"}
	tests := []struct {
		name  string
		allow []string
		id    hallmark.Identity
		want  []string
	}{
		{name: "repositories and the base allowlist", allow: []string{"registry.example.com/base/**"}, id: ghID("repo:acme/app:ref", acme),
			want: []string{"registry.example.com/acme/*", "registry.example.com/base/**"}},
		{name: "an empty allowlist adds nothing", id: ghID("repo:acme/app:ref", acme),
			want: []string{"registry.example.com/acme/*"}},
		{name: "pull patterns replace the allowlist", allow: []string{"registry.example.com/base/**"}, id: ghID("repo:acme/platform:ref", nil),
			want: []string{"registry.example.com/platform/**", "registry.example.com/teamb/shared", "docker.io/library/*"}},
		{name: "union over matching rules, without repeats", allow: []string{"registry.example.com/base/**", "docker.io/library/*"}, id: ghID("repo:acme/platform:ref", acme),
			want: []string{"registry.example.com/acme/*", "registry.example.com/base/**", "docker.io/library/*", "registry.example.com/platform/**", "registry.example.com/teamb/shared"}},
		{name: "read-only rule", allow: []string{"registry.example.com/base/**"}, id: ghID("repo:acme/release:ref", nil),
			want: []string{"registry.example.com/**"}},
		{name: "claims must match", id: ghID("repo:acme/app:ref", map[string]any{"repository_owner": "evil"}), want: []string{}},
		{name: "other issuer", id: hallmark.Identity{Issuer: "https://gitlab.example.com", Subject: "repo:acme/app:ref"}, want: []string{}},
		{name: "no identity", want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z, err := NewAuthorizer(readScopeRules(), WithBaseImageAllowlist(tt.allow...))
			if err != nil {
				t.Fatal(err)
			}
			if got := z.Readable(tt.id); !slices.Equal(got, tt.want) {
				t.Errorf("Readable = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestGrantReadable: a build's grant carries what its identity may read,
// from every rule that matches the identity, not only the one that lets
// it push.
func TestGrantReadable(t *testing.T) {
	z, err := NewAuthorizer(readScopeRules(), WithBaseImageAllowlist("registry.example.com/base/**"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := z.Grant(ghID("repo:acme/platform:ref", map[string]any{"repository_owner": "acme"}), "registry.example.com/platform/tools/go")
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	want := []string{"registry.example.com/acme/*", "registry.example.com/base/**", "registry.example.com/platform/**", "registry.example.com/teamb/shared", "docker.io/library/*"}
	if !slices.Equal(g.Readable, want) {
		t.Errorf("Readable = %q, want %q", g.Readable, want)
	}
}

func TestAuthorizeRead(t *testing.T) {
	z, err := NewAuthorizer(readScopeRules(), WithBaseImageAllowlist("registry.example.com/base/**", "docker.io/library/*"))
	if err != nil {
		t.Fatal(err)
	}
	app := ghID("repo:acme/app:ref", map[string]any{"repository_owner": "acme"})
	platform := ghID("repo:acme/platform:ref", nil)
	release := ghID("repo:acme/release:ref", nil)
	tests := []struct {
		name string
		id   hallmark.Identity
		repo string
		want bool
	}{
		{"own repository", app, "registry.example.com/acme/app", true},
		{"base allowlist", app, "registry.example.com/base/debian/12", true},
		{"Docker Hub as Docker spells it", app, "docker.io/library/alpine", true},
		{"Docker Hub as go-containerregistry spells it", app, "index.docker.io/library/alpine", true},
		{"other team", app, "registry.example.com/teamb/private", false},
		{"star does not cross slash", app, "registry.example.com/acme/app/sub", false},
		{"dot-dot segment", app, "registry.example.com/acme/../teamb/private", false},
		{"empty", app, "", false},
		{"pull pattern", platform, "registry.example.com/teamb/shared", true},
		{"pull patterns replace the allowlist", platform, "registry.example.com/base/debian/12", false},
		{"pull pattern, Docker Hub", platform, "index.docker.io/library/golang", true},
		{"read-only rule", release, "registry.example.com/teamb/private", true},
		{"read-only rule, other registry", release, "ghcr.io/acme/base", false},
		{"no identity", hallmark.Identity{}, "registry.example.com/acme/app", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := z.AuthorizeRead(tt.id, tt.repo)
			if tt.want {
				if err != nil {
					t.Fatalf("AuthorizeRead: %v", err)
				}
				return
			}
			if !errors.Is(err, hallmark.ErrPermissionDenied) || !strings.Contains(err.Error(), "may not read") {
				t.Fatalf("AuthorizeRead = %v, want ErrPermissionDenied", err)
			}
		})
	}
}

// TestReadOnlyRuleNeverPushes: a rule with pull patterns and no
// repositories grants reads only; pull patterns never grant a push.
func TestReadOnlyRuleNeverPushes(t *testing.T) {
	z, err := NewAuthorizer(readScopeRules(), WithBaseImageAllowlist("registry.example.com/base/**"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id   hallmark.Identity
		repo string
	}{
		{ghID("repo:acme/release:ref", nil), "registry.example.com/acme/app"},
		{ghID("repo:acme/release:ref", nil), "registry.example.com/release"},
		{ghID("repo:acme/platform:ref", nil), "registry.example.com/teamb/shared"},
		{ghID("repo:acme/app:ref", map[string]any{"repository_owner": "acme"}), "registry.example.com/base/debian"},
	} {
		if err := z.Authorize(tt.id, tt.repo); !errors.Is(err, hallmark.ErrPermissionDenied) {
			t.Errorf("Authorize(%s, %s) = %v, want ErrPermissionDenied", tt.id.Subject, tt.repo, err)
		}
	}
}

func TestNewAuthorizerBadAllowlist(t *testing.T) {
	if _, err := NewAuthorizer(nil, WithBaseImageAllowlist("r/a**")); err == nil || !strings.Contains(err.Error(), "base image allow pattern [0]") {
		t.Errorf("NewAuthorizer = %v, want the bad pattern named", err)
	}
}

// TestBuildCarriesReadable: the builder gets, with the build, the patterns
// of what the caller may read, so that it refuses bases outside them.
func TestBuildCarriesReadable(t *testing.T) {
	b := &fakeBuilder{}
	e := newTestEnv(t, b, envConfig{
		rules: []config.Rule{
			{Issuer: "{{issuer}}", Subject: testSubject, Repositories: []string{"registry.example.com/acme/**"}},
			{Issuer: "{{issuer}}", Subject: "repo:acme/**", Pull: []string{"registry.example.com/teamb/shared"}},
			{Issuer: "{{issuer}}", Subject: "someone-else", Pull: []string{"registry.example.com/**"}},
		},
		authzOpts: []AuthorizerOption{WithBaseImageAllowlist("registry.example.com/base/**")},
	})
	c := e.client(e.token)
	if _, _, err := build(t.Context(), c, uploadedRequest(t, c)); err != nil {
		t.Fatalf("Build: %v", err)
	}
	builds, _ := b.calls()
	if len(builds) != 1 {
		t.Fatalf("%d builds, want 1", len(builds))
	}
	want := []string{"registry.example.com/acme/**", "registry.example.com/base/**", "registry.example.com/teamb/shared"}
	if !slices.Equal(builds[0].Readable, want) {
		t.Errorf("Readable = %q, want %q", builds[0].Readable, want)
	}
}
