package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/hallmark-dev/hallmark/internal/glob"
)

// AuthConfig lists trusted token issuers and authorization rules.
type AuthConfig struct {
	Issuers []Issuer `json:"issuers"`
	Rules   []Rule   `json:"rules"`
}

// Issuer is one trusted OIDC issuer of caller tokens.
type Issuer struct {
	// URL is the issuer URL, exactly as it appears in the tokens' "iss" claim
	// and in the issuer's discovery document (a trailing slash matters). Plain
	// http is accepted for the dev stack's loopback issuer.
	URL string `json:"url"`
	// Audience is the value the tokens' "aud" claim must contain.
	Audience string `json:"audience"`
}

// Check returns an error that starts with the field's name ("url: …").
func (is Issuer) Check() error {
	if err := checkIssuerURL(is.URL); err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if is.Audience == "" {
		return errors.New("audience: empty; set the audience the issuer's tokens are minted for")
	}
	return nil
}

func checkIssuerURL(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("parse %q: %w", s, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("%q: scheme must be https (or http for a dev issuer)", s)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return fmt.Errorf("%q: want scheme://host[:port][/path] only", s)
	}
	return nil
}

// Rule lets the identities it matches push to the repositories it lists,
// and read (pull from and verify) the repositories its pull patterns list:
//
//	rules:
//	- issuer: https://token.actions.githubusercontent.com
//	  subject: "repo:acme/*:ref:refs/heads/main"
//	  claims:
//	    repository_owner: acme
//	  repositories:
//	  - registry.example.com/acme/*
//	  - registry.example.com/common/**
//	  pull:
//	  - registry.example.com/base/**
//
// Subject, claim values, repositories and pull are patterns of
// internal/glob's dialect: "*" stays within one "/"-separated segment and a
// "**" segment crosses "/". So "registry.example.com/acme/*" matches
// "registry.example.com/acme/app" but not "registry.example.com/acme/app/sub",
// and "registry.example.com/acme/**" matches both but not
// "registry.example.com/acme" itself.
//
// What an identity may read is the union, over every rule that matches it,
// of the rule's repositories and pull patterns; a rule without pull
// patterns reads its repositories and the base-image allowlist
// (policy.baseImages.allow), and nothing more when that list is empty. A
// rule with pull patterns and no repositories is read-only: it lets its
// identities verify and build from images, never push.
type Rule struct {
	// Issuer must equal the identity's issuer (the token's "iss").
	Issuer string `json:"issuer"`
	// Subject is a pattern for the identity's subject (the token's "sub").
	// Empty matches any subject.
	Subject string `json:"subject,omitempty"`
	// Claims maps claim names to patterns; every listed claim must be a
	// string that matches its pattern.
	Claims map[string]string `json:"claims,omitempty"`
	// Repositories are patterns for "registry/repository"; the rule allows
	// pushing to (and reading) a repository that matches any of them. Each
	// must name its registry (its first segment is not empty and not
	// "**"). A rule needs repositories, pull patterns or both.
	Repositories []string `json:"repositories,omitempty"`
	// Pull are patterns, like Repositories, for the repositories the rule
	// lets its identities read besides its Repositories: the base images
	// (FROM, COPY --from, RUN --mount from=) of their builds and the images
	// they verify. Without it, a rule reads its Repositories and the
	// base-image allowlist (policy.baseImages.allow); with it, its
	// Repositories and these patterns only. Pull never allows a push.
	Pull []string `json:"pull,omitempty"`
	// AllowRootUnsafe lets builds this rule authorizes produce images whose
	// final USER is root or unset. Dangerous; the default refuses them.
	AllowRootUnsafe bool `json:"allowRootUnsafe,omitempty"`
	// CacheScope names the cache-mount scope of the builds this rule
	// authorizes: builds of every repository of rules naming the same scope
	// share their RUN --mount=type=cache mounts. 1 to 64 letters, digits,
	// '.', '_' or '-', starting with a letter or digit. Empty (the default)
	// scopes cache mounts to the build's repository: only builds pushing to
	// the same repository share them. When several rules match a build, the
	// first in order decides.
	CacheScope string `json:"cacheScope,omitempty"`
	// Network is the network RUN steps of the builds this rule authorizes
	// get: "default" (BuildKit's sandboxed network, the default) or "none"
	// (loopback only: a hermetic build). When several rules match a build,
	// the first in order decides.
	Network string `json:"network,omitempty"`
	// Admin makes the identities the rule matches administrators of the
	// gateway: they may import vulnerability advisories
	// (VulnDBService.Import, `hallmark vulndb import`). An admin rule must
	// name a subject or claims, so that it cannot make every identity of
	// an issuer an administrator; it may list no repositories or pull
	// patterns, and then grants nothing else. The default is false.
	Admin bool `json:"admin,omitempty"`
}

// Network modes of a Rule.
const (
	NetworkDefault = "default"
	NetworkNone    = "none"
)

// cacheScopeRE is a Rule's CacheScope: short, and of a charset that is
// safe in logs and cannot be mistaken for a repository ("registry/repo").
var cacheScopeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`) })

// Check returns an error that starts with the field's name
// ("repositories[0]: …").
func (r Rule) Check() error {
	if r.Issuer == "" {
		return errors.New("issuer: empty; name the issuer exactly as in its tokens")
	}
	if r.Subject != "" {
		if err := glob.Check(r.Subject); err != nil {
			return fmt.Errorf("subject: %w", err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Claims)) {
		if name == "" {
			return errors.New("claims: empty claim name")
		}
		if err := glob.Check(r.Claims[name]); err != nil {
			return fmt.Errorf("claims[%q]: %w", name, err)
		}
	}
	if len(r.Repositories) == 0 && len(r.Pull) == 0 && !r.Admin {
		return errors.New("repositories: empty; list at least one repository pattern (or pull patterns for a read-only rule, or admin: true)")
	}
	if len(r.Repositories) == 0 {
		// Build settings mean nothing on a rule that authorizes no build.
		for _, f := range []struct {
			name string
			set  bool
		}{{"allowRootUnsafe", r.AllowRootUnsafe}, {"cacheScope", r.CacheScope != ""}, {"network", r.Network != ""}} {
			if f.set {
				return fmt.Errorf("%s: set on a read-only rule (no repositories), which authorizes no build", f.name)
			}
		}
	}
	if err := checkRepositoryPatterns("repositories", r.Repositories); err != nil {
		return err
	}
	if err := checkRepositoryPatterns("pull", r.Pull); err != nil {
		return err
	}
	if r.CacheScope != "" && !cacheScopeRE().MatchString(r.CacheScope) {
		return fmt.Errorf("cacheScope: %q is not 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit", clip(r.CacheScope))
	}
	switch r.Network {
	case "", NetworkDefault, NetworkNone:
	default:
		return fmt.Errorf("network: %q is not %s or %s", clip(r.Network), NetworkDefault, NetworkNone)
	}
	if r.Admin && r.Subject == "" && len(r.Claims) == 0 {
		return errors.New("admin: set on a rule without a subject or claims, which would make every identity of the issuer an administrator")
	}
	return nil
}

// checkRepositoryPatterns checks patterns for "registry/repository": each
// compiles and names its registry (its first segment is not empty and not
// "**").
func checkRepositoryPatterns(field string, patterns []string) error {
	for j, p := range patterns {
		if err := glob.Check(p); err != nil {
			return fmt.Errorf("%s[%d]: %w", field, j, err)
		}
		if first, _, _ := strings.Cut(p, "/"); first == "" || first == "**" {
			return fmt.Errorf("%s[%d]: bad pattern %q: the first segment must name the registry", field, j, p)
		}
	}
	return nil
}

// clip shortens s to about 80 bytes for an error message, at a rune
// boundary.
func clip(s string) string {
	for i := range s {
		if i >= 80 {
			return s[:i] + "…"
		}
	}
	return s
}
