package server

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Rule lets the identities it matches push to the repositories it lists, as
// written in the gateway's configuration:
//
//	rules:
//	- issuer: https://token.actions.githubusercontent.com
//	  subject: "repo:acme/*:ref:refs/heads/main"
//	  claims:
//	    repository_owner: acme
//	  repositories:
//	  - registry.example.com/acme/*
//	  - registry.example.com/shared/**
//
// Subject, claim values and repositories are glob patterns with the syntax
// of path.Match: "*" matches any run of characters except "/", "?" one
// character except "/", "[...]" a character class, and "\" escapes. So
// "registry.example.com/acme/*" matches "registry.example.com/acme/app" but
// not "registry.example.com/acme/app/sub". A pattern may end in "/**" to
// match anything below its prefix at any depth: "registry.example.com/acme/**"
// matches "registry.example.com/acme/app/sub" but not
// "registry.example.com/acme" itself. "**" is not allowed anywhere else.
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
	// pushing to a repository that matches any of them. At least one is
	// required.
	Repositories []string `json:"repositories"`
	// AllowRootUnsafe lets builds this rule authorizes produce images whose
	// final USER is root or unset. Dangerous; the default refuses them.
	AllowRootUnsafe bool `json:"allowRootUnsafe,omitempty"`
}

// matches reports whether the rule lets id push to repository.
func (r *Rule) matches(id hallmark.Identity, repository string) bool {
	if id.Issuer != r.Issuer {
		return false
	}
	if r.Subject != "" && !globMatch(r.Subject, id.Subject) {
		return false
	}
	for name, pattern := range r.Claims {
		v, ok := id.Claims[name].(string)
		if !ok || !globMatch(pattern, v) {
			return false
		}
	}
	return slices.ContainsFunc(r.Repositories, func(p string) bool { return globMatch(p, repository) })
}

// Authorizer decides which identities may push to which repositories.
type Authorizer struct {
	rules []Rule
}

// NewAuthorizer returns an Authorizer for rules, checking every rule. An
// Authorizer without rules denies everything.
func NewAuthorizer(rules []Rule) (*Authorizer, error) {
	a := &Authorizer{rules: make([]Rule, 0, len(rules))}
	for i, r := range rules {
		if err := checkRule(r); err != nil {
			return nil, fmt.Errorf("rules[%d].%w", i, err)
		}
		a.rules = append(a.rules, Rule{
			Issuer:          r.Issuer,
			Subject:         r.Subject,
			Claims:          maps.Clone(r.Claims),
			Repositories:    slices.Clone(r.Repositories),
			AllowRootUnsafe: r.AllowRootUnsafe,
		})
	}
	return a, nil
}

// checkRule returns an error that starts with the field's name.
func checkRule(r Rule) error {
	if r.Issuer == "" {
		return errors.New("issuer: empty; name the issuer exactly as in its tokens")
	}
	if r.Subject != "" {
		if err := checkGlob(r.Subject); err != nil {
			return fmt.Errorf("subject: %w", err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Claims)) {
		if name == "" {
			return errors.New("claims: empty claim name")
		}
		if err := checkGlob(r.Claims[name]); err != nil {
			return fmt.Errorf("claims[%q]: %w", name, err)
		}
	}
	if len(r.Repositories) == 0 {
		return errors.New("repositories: empty; list at least one repository pattern")
	}
	for j, p := range r.Repositories {
		if err := checkGlob(p); err != nil {
			return fmt.Errorf("repositories[%d]: %w", j, err)
		}
	}
	return nil
}

// checkGlob checks a pattern of the syntax described at Rule.
func checkGlob(p string) error {
	if p == "" {
		return errors.New("empty pattern")
	}
	base, _ := strings.CutSuffix(p, "/**")
	if base == "" {
		return fmt.Errorf("bad pattern %q: nothing before /**", p)
	}
	if strings.Contains(base, "**") {
		return fmt.Errorf("bad pattern %q: ** is allowed only as a trailing /**", p)
	}
	if _, err := path.Match(base, ""); err != nil {
		return fmt.Errorf("bad pattern %q: %w", p, err)
	}
	return nil
}

// globMatch matches s against a pattern that checkGlob accepted.
func globMatch(pattern, s string) bool {
	base, anyDepth := strings.CutSuffix(pattern, "/**")
	if !anyDepth {
		ok, _ := path.Match(pattern, s)
		return ok
	}
	// Match base against as many leading segments of s as it has, and
	// require at least one non-empty segment after them.
	n := strings.Count(base, "/") + 1
	segs := strings.SplitN(s, "/", n+1)
	if len(segs) <= n || segs[n] == "" {
		return false
	}
	ok, _ := path.Match(base, strings.Join(segs[:n], "/"))
	return ok
}

// cleanRepository reports whether repository has no empty, "." or ".."
// segment, so that no pattern matches it by accident.
func cleanRepository(repository string) bool {
	for seg := range strings.SplitSeq(repository, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// Authorize returns nil if a rule lets id push to repository
// ("registry/repository"), and otherwise an error wrapping
// hallmark.ErrPermissionDenied that names the identity and the repository.
func (a *Authorizer) Authorize(id hallmark.Identity, repository string) error {
	_, err := a.Grant(id, repository)
	return err
}

// Grant is what the matching rules let a build do.
type Grant struct {
	// AllowRoot: a matching rule sets allowRootUnsafe.
	AllowRoot bool
}

// Grant is Authorize that also says what the matching rules allow; rules
// add up, so one matching rule with allowRootUnsafe is enough.
func (a *Authorizer) Grant(id hallmark.Identity, repository string) (Grant, error) {
	var g Grant
	matched := false
	if id.Issuer != "" && cleanRepository(repository) {
		for i := range a.rules {
			if a.rules[i].matches(id, repository) {
				matched = true
				g.AllowRoot = g.AllowRoot || a.rules[i].AllowRootUnsafe
			}
		}
	}
	if !matched {
		return Grant{}, fmt.Errorf("%w: subject %q of issuer %q may not push to %q",
			hallmark.ErrPermissionDenied, clipClaim(id.Subject), clipClaim(id.Issuer), clipClaim(repository))
	}
	return g, nil
}
