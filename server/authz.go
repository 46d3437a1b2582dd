package server

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/internal/glob"
	"github.com/hallmark-dev/hallmark/registry"
)

// rule is a config.Rule with its patterns compiled.
type rule struct {
	issuer       string
	subject      *glob.Pattern
	claims       map[string]glob.Pattern
	repositories []glob.Pattern
	// readable are the patterns of the repositories the rule's identities
	// may read: its repositories, then its pull patterns or, without
	// them, the base-image allowlist.
	readable   []glob.Pattern
	allowRoot  bool
	cacheScope string
	network    string
	admin      bool
}

func compileRule(r config.Rule, baseAllow []glob.Pattern) (rule, error) {
	if err := r.Check(); err != nil {
		return rule{}, err
	}
	out := rule{issuer: r.Issuer, claims: make(map[string]glob.Pattern, len(r.Claims)), allowRoot: r.AllowRootUnsafe,
		cacheScope: r.CacheScope, network: cmp.Or(r.Network, hallmark.NetworkDefault), admin: r.Admin}
	if r.Subject != "" {
		g, _ := glob.Compile(r.Subject) // checked above
		out.subject = &g
	}
	for name, p := range r.Claims {
		out.claims[name], _ = glob.Compile(p)
	}
	out.repositories, _ = glob.CompileAll("repositories", r.Repositories)
	pull, _ := glob.CompileAll("pull", r.Pull)
	if len(pull) == 0 && len(out.repositories) > 0 {
		pull = baseAllow
	}
	out.readable = append(slices.Clone(out.repositories), pull...)
	return out, nil
}

// matchesIdentity reports whether the rule applies to id: same issuer, and
// subject and claims match.
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

// matches reports whether the rule lets id push to repository.
func (r *rule) matches(id hallmark.Identity, repository string) bool {
	if !r.matchesIdentity(id) {
		return false
	}
	_, ok := glob.First(r.repositories, repository)
	return ok
}

// Authorizer decides which identities may push to and read which
// repositories, by the authorization rules of the gateway's configuration
// (config.Rule).
type Authorizer struct {
	rules []rule
}

// AuthorizerOption configures an Authorizer.
type AuthorizerOption func(*authzOptions) error

type authzOptions struct {
	baseAllow []glob.Pattern
}

// WithBaseImageAllowlist sets the gateway's base-image allowlist
// (policy.baseImages.allow): a rule without pull patterns lets its
// identities read the repositories it matches besides the rule's own. The
// default is none, which adds nothing: such a rule reads only its
// repositories (an empty allowlist lets builds name any base, not read
// any repository).
func WithBaseImageAllowlist(patterns ...string) AuthorizerOption {
	return func(o *authzOptions) error {
		g, err := glob.CompileAll("base image allow pattern", patterns)
		if err != nil {
			return err
		}
		o.baseAllow = append(o.baseAllow, g...)
		return nil
	}
}

// NewAuthorizer returns an Authorizer for rules, checking every rule. An
// Authorizer without rules denies everything.
func NewAuthorizer(rules []config.Rule, opts ...AuthorizerOption) (*Authorizer, error) {
	var o authzOptions
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	a := &Authorizer{rules: make([]rule, 0, len(rules))}
	for i, r := range rules {
		c, err := compileRule(r, o.baseAllow)
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
	// Readable are the patterns of the repositories the identity may read
	// (Authorizer.Readable): the build's base images must match one.
	Readable []string
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
	g.Readable = a.Readable(id)
	return g, nil
}

// AuthorizeAny returns nil if some rule lets id push somewhere, so that it
// may build for at least one repository, and otherwise an error wrapping
// hallmark.ErrPermissionDenied that names the identity. It guards what
// callers can make the gateway hold before a build names a repository,
// such as uploaded contexts; a read-only rule (pull patterns only) does not
// count.
func (a *Authorizer) AuthorizeAny(id hallmark.Identity) error {
	if id.Issuer != "" {
		for i := range a.rules {
			if len(a.rules[i].repositories) > 0 && a.rules[i].matchesIdentity(id) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: subject %q of issuer %q matches no authorization rule that may push, so it may not build",
		hallmark.ErrPermissionDenied, hallmark.Clip(id.Subject, maxQuotedClaimBytes), hallmark.Clip(id.Issuer, maxQuotedClaimBytes))
}

// Readable returns the patterns of the repositories id may read, in rule
// order without repeats: the union over the rules that match id (issuer,
// subject and claims) of their repositories and pull patterns, or of
// their repositories and the base-image allowlist for a rule without pull
// patterns. It is empty for an identity no rule matches.
func (a *Authorizer) Readable(id hallmark.Identity) []string {
	out := []string{}
	if id.Issuer == "" {
		return out
	}
	for i := range a.rules {
		if !a.rules[i].matchesIdentity(id) {
			continue
		}
		for _, g := range a.rules[i].readable {
			if !slices.Contains(out, g.String()) {
				out = append(out, g.String())
			}
		}
	}
	return out
}

// AuthorizeRead returns nil if a rule lets id read repository
// ("registry/repository", a Docker Hub repository spelled either
// "docker.io/…" or "index.docker.io/…"), and otherwise an error wrapping
// hallmark.ErrPermissionDenied that names the identity and the repository.
func (a *Authorizer) AuthorizeRead(id hallmark.Identity, repository string) error {
	if id.Issuer != "" && cleanRepository(repository) {
		for i := range a.rules {
			if a.rules[i].matchesIdentity(id) && glob.MatchesAny(a.rules[i].readable, registry.RepositoryNames(repository)) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: subject %q of issuer %q may not read %q",
		hallmark.ErrPermissionDenied, hallmark.Clip(id.Subject, maxQuotedClaimBytes), hallmark.Clip(id.Issuer, maxQuotedClaimBytes), hallmark.Clip(repository, maxQuotedClaimBytes))
}

// AuthorizeAdmin returns nil if a rule with admin: true matches id, and
// otherwise an error wrapping hallmark.ErrPermissionDenied that names the
// identity. It guards what changes the gateway for every caller, such as
// the advisories builds are matched against.
func (a *Authorizer) AuthorizeAdmin(id hallmark.Identity) error {
	if id.Issuer != "" {
		for i := range a.rules {
			if a.rules[i].admin && a.rules[i].matchesIdentity(id) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: subject %q of issuer %q matches no authorization rule with admin: true",
		hallmark.ErrPermissionDenied, hallmark.Clip(id.Subject, maxQuotedClaimBytes), hallmark.Clip(id.Issuer, maxQuotedClaimBytes))
}

// AuthorizeKnown returns nil if some rule matches id, whatever it grants,
// and otherwise an error wrapping hallmark.ErrPermissionDenied.
func (a *Authorizer) AuthorizeKnown(id hallmark.Identity) error {
	if id.Issuer != "" {
		for i := range a.rules {
			if a.rules[i].matchesIdentity(id) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: subject %q of issuer %q matches no authorization rule",
		hallmark.ErrPermissionDenied, hallmark.Clip(id.Subject, maxQuotedClaimBytes), hallmark.Clip(id.Issuer, maxQuotedClaimBytes))
}
