package server

import (
	"errors"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/config"
)

func TestAuthorizeAdmin(t *testing.T) {
	const gh = "https://token.actions.githubusercontent.com"
	rules := append(readScopeRules(), config.Rule{Issuer: gh, Subject: "repo:acme/security:*", Admin: true})
	z, err := NewAuthorizer(rules, WithBaseImageAllowlist("registry.example.com/base/**"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id           hallmark.Identity
		admin, known bool
	}{
		{ghID("repo:acme/security:ref", nil), true, true},
		{ghID("repo:acme/release:ref", nil), false, true},
		{ghID("repo:other/app:ref", nil), false, false},
		{hallmark.Identity{Subject: "repo:acme/security:ref"}, false, false},
	} {
		if err := z.AuthorizeAdmin(tt.id); (err == nil) != tt.admin || (err != nil && !errors.Is(err, hallmark.ErrPermissionDenied)) {
			t.Errorf("AuthorizeAdmin(%s) = %v, want admin %v", tt.id.Subject, err, tt.admin)
		}
		if err := z.AuthorizeKnown(tt.id); (err == nil) != tt.known {
			t.Errorf("AuthorizeKnown(%s) = %v, want known %v", tt.id.Subject, err, tt.known)
		}
	}
	// An admin-only rule grants nothing else: no push, no reads (not even
	// the base allowlist), no builds.
	admin := ghID("repo:acme/security:ref", nil)
	if r := z.Readable(admin); len(r) != 0 {
		t.Errorf("Readable(admin) = %v, want none", r)
	}
	if err := z.AuthorizeAny(admin); err == nil {
		t.Error("AuthorizeAny(admin) = nil, want denied")
	}
}
