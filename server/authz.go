package server

import (
	"cmp"
	"fmt"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/internal/glob"
)

// rule is a config.Rule with its patterns compiled.
type rule struct {
	issuer       string
	subject      *glob.Pattern
	claims       map[string]glob.Pattern
	repositories []glob.Pattern
	allowRoot    bool
	cacheScope   string
	network      string
}

func compileRule(r config.Rule) (rule, error) {
	if err := r.Check(); err != nil {
		return rule{}, err
	}
	out := rule{issuer: r.Issuer, claims: make(map[string]glob.Pattern, len(r.Claims)), allowRoot: r.AllowRootUnsafe,
		cacheScope: r.CacheScope, network: cmp.Or(r.Network, hallmark.NetworkDefault)}
	if r.Subject != "" {
		g, _ := glob.Compile(r.Subject) // checked above
		out.subject = &g
	}
	for name, p := range r.Claims {
		out.claims[name], _ = glob.Compile(p)
	}
	out.repositories, _ = glob.CompileAll("repositories", r.Repositories)
	return out, nil
}

// matches reports whether the rule lets id push to repository.
func (r *rule) matches(id hallmark.Identity, repository string) bool {
	if !r.matchesIdentity(id) {
		return false
	}
	_, ok := glob.First(r.repositories, repository)
	return ok
}

// matchesIdentity reports whether the rule applies to id: its issuer,
// subject and claims, whatever the repository.
func (r *rule) matchesIdentity(id hallmark.Identity) bool {
	if id.Issuer != r.issuer {
		return false
	}
	if r.subject != nil && !r.subject.Match(id.Subject) {
		return false
	}
	for name, pattern := range r.claims {
		v, ok := id.Claims[name].(string)
		if !ok || !pattern.Match(v) {
			return false
		}
	}
	return true
}

// Authorizer decides which identities may push to which repositories, by
// the authorization rules of the gateway's configuration (config.Rule).
type Authorizer struct {
	rules []rule
}

// NewAuthorizer returns an Authorizer for rules, checking every rule. An
// Authorizer without rules denies everything.
func NewAuthorizer(rules []config.Rule) (*Authorizer, error) {
	a := &Authorizer{rules: make([]rule, 0, len(rules))}
	for i, r := range rules {
		c, err := compileRule(r)
		if err != nil {
			return nil, fmt.Errorf("rules[%d].%w", i, err)
		}
		a.rules = append(a.rules, c)
	}
	return a, nil
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
	// CacheScope is who shares the build's cache mounts: the first
	// matching rule's cacheScope or, when it names none, the repository.
	CacheScope string
	// Network is the first matching rule's network for RUN steps:
	// hallmark.NetworkDefault or hallmark.NetworkNone.
	Network string
}

// Grant is Authorize that also says what the matching rules allow.
// Permissions add up: one matching rule with allowRootUnsafe is enough.
// Settings that choose rather than permit, cacheScope and network, come
// from the first matching rule in configuration order, so an operator
// puts narrower rules (a hermetic network, a shared cache) before broader
// ones; a later rule never widens what an earlier one set.
func (a *Authorizer) Grant(id hallmark.Identity, repository string) (Grant, error) {
	var g Grant
	matched := false
	if id.Issuer != "" && cleanRepository(repository) {
		for i := range a.rules {
			r := &a.rules[i]
			if !r.matches(id, repository) {
				continue
			}
			if !matched {
				g.CacheScope = cmp.Or(r.cacheScope, repository)
				g.Network = r.network
			}
			matched = true
			g.AllowRoot = g.AllowRoot || r.allowRoot
		}
	}
	if !matched {
		return Grant{}, fmt.Errorf("%w: subject %q of issuer %q may not push to %q",
			hallmark.ErrPermissionDenied, hallmark.Clip(id.Subject, maxQuotedClaimBytes), hallmark.Clip(id.Issuer, maxQuotedClaimBytes), hallmark.Clip(repository, maxQuotedClaimBytes))
	}
	return g, nil
}

// AuthorizeAny returns nil if some rule applies to id, so that it may build
// for at least one repository, and otherwise an error wrapping
// hallmark.ErrPermissionDenied that names the identity. It guards what
// callers can make the gateway hold before a build names a repository,
// such as uploaded contexts.
func (a *Authorizer) AuthorizeAny(id hallmark.Identity) error {
	if id.Issuer != "" {
		for i := range a.rules {
			if a.rules[i].matchesIdentity(id) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: subject %q of issuer %q matches no authorization rule, so it may not build",
		hallmark.ErrPermissionDenied, hallmark.Clip(id.Subject, maxQuotedClaimBytes), hallmark.Clip(id.Issuer, maxQuotedClaimBytes))
}
