package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Policy is a loaded, validated policy with its rules compiled. It is
// immutable and safe for concurrent use.
type Policy struct {
	doc         Document // normalized
	trustedRoot string   // absolute, "" if unset
	hash        string
	signers     []signer
	rules       []*rule
	disabled    map[string]bool
	timeout     time.Duration
}

// newPolicy validates and normalizes doc and compiles its rules.
func newPolicy(doc Document, o options) (*Policy, error) {
	var v validator
	v.header(&doc)
	spec := &doc.Spec
	trustedRoot := v.resolveTrustedRoot(spec.TrustedRoot, o.baseDir)
	signers := v.signers(spec.Signers)
	v.strings("spec.builders", spec.Builders)
	v.strings("spec.requirePredicateTypes", spec.RequirePredicateTypes)
	rules := v.rules(spec.Rules, o)
	v.admission(&spec.Admission)
	if len(v.errs) > 0 {
		return nil, invalid(v.errs)
	}
	p := &Policy{
		doc:         doc,
		trustedRoot: trustedRoot,
		signers:     signers,
		rules:       rules,
		disabled:    map[string]bool{},
		timeout:     o.ruleTimeout,
	}
	for _, name := range spec.Admission.Disable {
		p.disabled[name] = true
	}
	// The hash covers what the policy requires and which trusted root it
	// verifies against; encoding/json writes struct fields in a fixed order.
	canonical, err := json.Marshal(struct {
		Document        Document `json:"document"`
		TrustedRootPath string   `json:"trustedRootPath,omitempty"`
	}{doc, trustedRoot})
	if err != nil {
		return nil, fmt.Errorf("encode policy: %w", err)
	}
	sum := sha256.Sum256(canonical)
	p.hash = "sha256:" + hex.EncodeToString(sum[:])
	return p, nil
}

// Name returns metadata.name.
func (p *Policy) Name() string { return p.doc.Metadata.Name }

// Spec returns a copy of the normalized spec: admission.mode set,
// admission.disable and admission.allowCapabilities sorted without
// duplicates, capabilities without the CAP_ prefix. TrustedRoot is as
// written; see TrustedRootPath.
func (p *Policy) Spec() Spec {
	s := p.doc.Spec
	s.Signers = slices.Clone(s.Signers)
	s.Builders = slices.Clone(s.Builders)
	s.RequirePredicateTypes = slices.Clone(s.RequirePredicateTypes)
	s.Rules = slices.Clone(s.Rules)
	s.Admission.Disable = slices.Clone(s.Admission.Disable)
	s.Admission.AllowCapabilities = slices.Clone(s.Admission.AllowCapabilities)
	return s
}

// Hash returns "sha256:<hex>" of the canonical encoding of the normalized
// document and the resolved trusted root path. Reformatting the YAML does
// not change it; changing any requirement does.
func (p *Policy) Hash() string { return p.hash }

// TrustedRootPath returns the absolute path of spec.trustedRoot (resolved
// against the policy file's directory, or WithBaseDir for Load), or "" if
// the policy uses the caller's trusted root.
func (p *Policy) TrustedRootPath() string { return p.trustedRoot }

// Mode returns the admission mode, ModeEnforce or ModeWarn.
func (p *Policy) Mode() string { return p.doc.Spec.Admission.Mode }

// HygieneEnabled reports whether the admission hygiene rule named rule is
// on: it is one of HygieneRules and spec.admission.disable does not list it.
func (p *Policy) HygieneEnabled(rule string) bool {
	return slices.Contains(HygieneRules, rule) && !p.disabled[rule]
}

// AllowedCapabilities returns the capabilities containers may add, sorted,
// without the CAP_ prefix.
func (p *Policy) AllowedCapabilities() []string {
	return slices.Clone(p.doc.Spec.Admission.AllowCapabilities)
}

// HasPodRules reports whether any rule references pod, so that admission
// must call EvaluatePod.
func (p *Policy) HasPodRules() bool {
	return slices.ContainsFunc(p.rules, func(r *rule) bool { return r.pod })
}

// ReadsImage reports whether an image rule reads the image variable, whose
// ref is the reference as the caller wrote it: then a verdict depends on
// the reference, not only on the digest it resolved to.
func (p *Policy) ReadsImage() bool {
	return slices.ContainsFunc(p.rules, func(r *rule) bool { return !r.pod && r.image })
}

// RulesReadImage reports whether any rule, of the image or of the Pod,
// reads the image variable (its config, manifest or reference).
func (p *Policy) RulesReadImage() bool {
	return slices.ContainsFunc(p.rules, func(r *rule) bool { return r.image })
}

// AnchoredSigners returns the signers with each regexp written anchored,
// "^(?:re)$", for matchers that search rather than match whole strings
// (sigstore-go's certificate identities do).
func (p *Policy) AnchoredSigners() []Signer {
	out := make([]Signer, len(p.signers))
	for i, s := range p.signers {
		out[i] = s.Signer
		out[i].IssuerRegExp = anchor(s.IssuerRegExp)
		out[i].SubjectRegExp = anchor(s.SubjectRegExp)
	}
	return out
}

// MatchSigner reports whether a certificate identity, its OIDC issuer and
// subject (SAN), matches one of the policy's signers.
func (p *Policy) MatchSigner(issuer, subject string) bool {
	for i := range p.signers {
		if p.signers[i].match(issuer, subject) {
			return true
		}
	}
	return false
}
