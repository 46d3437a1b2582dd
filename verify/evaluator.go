package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// Evaluator answers "may this image run under this policy?" with verdicts:
// signature verification by a Verifier built from each policy's signers and
// trusted root, then the policy's rules. It caches verdicts by repository and
// image digest, policy hash and trusted-root version (never by tag), caches only
// successes and definite failures, and collapses concurrent requests for the
// same key into one verification, which stops when no caller waits for it
// any more. At most WithMaxConcurrent verifications run at once; verdicts
// served from the cache never wait. It is safe for concurrent use.
type Evaluator struct {
	policies map[string]*boundPolicy
	def      string
	o        evalOptions
	cache    *verdictCache
	flights  flightGroup
	slots    *slots
}

// boundPolicy is a policy with the trust it is evaluated under and the
// Verifier of its signers.
type boundPolicy struct {
	p     *policy.Policy
	trust *Trust
	v     *Verifier
}

// NewEvaluator returns an Evaluator for policies; a policy that names no
// trusted root of its own is evaluated under trust (which may then not be
// nil). The ImageOptions and LimitOptions (the registry, bundle limits,
// logging) apply to every policy's Verifier; signer identities come from
// the policies, so WithIdentities and WithAnyIdentityUnsafe are not
// EvaluatorOptions.
func NewEvaluator(trust *Trust, policies []*policy.Policy, opts ...EvaluatorOption) (*Evaluator, error) {
	o := defaultEvalOptions()
	for _, opt := range opts {
		if err := opt.applyToEvaluator(&o); err != nil {
			return nil, fmt.Errorf("new evaluator: %w", err)
		}
	}
	if len(policies) == 0 {
		return nil, fmt.Errorf("new evaluator: %w: no policy", hallmark.ErrInvalid)
	}
	e := &Evaluator{policies: map[string]*boundPolicy{}, o: o, def: o.defaultPolicy,
		cache: newVerdictCache(o.cacheSize, o.now), slots: newSlots(o.maxConcurrent, o.observeSlots)}
	if e.def == "" {
		e.def = policies[0].Name()
	}
	for _, p := range policies {
		if _, dup := e.policies[p.Name()]; dup {
			return nil, fmt.Errorf("new evaluator: %w: two policies are named %q", hallmark.ErrInvalid, p.Name())
		}
		bp, err := bind(p, trust, o.verifier)
		if err != nil {
			return nil, fmt.Errorf("new evaluator: policy %q: %w", p.Name(), err)
		}
		e.policies[p.Name()] = bp
	}
	if _, ok := e.policies[e.def]; !ok {
		return nil, fmt.Errorf("new evaluator: %w: default policy %q is not loaded", hallmark.ErrInvalid, e.def)
	}
	return e, nil
}

func bind(p *policy.Policy, trust *Trust, o options) (*boundPolicy, error) {
	if path := p.TrustedRootPath(); path != "" {
		t, err := LoadTrust(path)
		if err != nil {
			return nil, err
		}
		trust = t
	}
	if trust == nil {
		return nil, fmt.Errorf("%w: no trusted root: the policy names none and none was given", hallmark.ErrInvalid)
	}
	o.identities = nil
	for _, s := range p.Spec().Signers {
		o.identities = append(o.identities, Identity{Issuer: s.Issuer, IssuerRegexp: s.IssuerRegExp,
			SubjectAlternativeName: s.Subject, SANRegexp: s.SubjectRegExp})
	}
	v, err := newVerifier(trust.Root, o)
	if err != nil {
		return nil, err
	}
	return &boundPolicy{p: p, trust: trust, v: v}, nil
}

// Policies returns the names of the loaded policies, sorted, and the
// default's.
func (e *Evaluator) Policies() (names []string, def string) {
	for n := range e.policies {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, e.def
}

// Policy returns the loaded policy named name ("" for the default).
func (e *Evaluator) Policy(name string) (*policy.Policy, error) {
	bp, err := e.lookup(name)
	if err != nil {
		return nil, err
	}
	return bp.p, nil
}

func (e *Evaluator) lookup(name string) (*boundPolicy, error) {
	if name == "" {
		name = e.def
	}
	bp, ok := e.policies[name]
	if !ok {
		return nil, fmt.Errorf("%w: no policy named %q", hallmark.ErrNotFound, hallmark.Clip(name, 80))
	}
	return bp, nil
}

// Request asks for one verdict.
type Request struct {
	// Ref is the image reference: by digest, or by tag, which is resolved
	// on every request (a cached verdict is never found through a tag).
	Ref string
	// Policy names the policy; "" is the default policy.
	Policy string
	// VSA asks for a signed Verification Summary Attestation when allowed.
	VSA bool
	// Platform selects the platform ("linux/arm64") of a multi-platform
	// image (an index) to verify; "" verifies every platform, each of which
	// must pass. For an image that is not an index, a platform other than
	// its own denies it. See evaluateIndex.
	Platform string
	// Fresh verifies the image now, whatever verdict is cached, and caches
	// the new one: a person's "re-verify now". Concurrent requests for the
	// same key still share one verification.
	Fresh bool
}

// Verify returns the verdict for req. A denial is a Verdict with Allowed
// false; errors mean the image could not be evaluated and wrap
// hallmark.ErrInvalid (bad reference), hallmark.ErrNotFound (no such image
// or policy), hallmark.ErrPermissionDenied (registry refused access),
// hallmark.ErrUnavailable (registry or signer unreachable, or the
// verification timed out), hallmark.ErrTooLarge (a *LimitError: the image
// is over a limit of what a verification reads), or hallmark.ErrCanceled
// with ctx's error when ctx ended first, also while the verification
// waited for a free slot (WithMaxConcurrent). The returned Verdict must
// not be modified.
func (e *Evaluator) Verify(ctx context.Context, req Request) (*Verdict, error) {
	bp, err := e.lookup(req.Policy)
	if err != nil {
		return nil, err
	}
	if err := hallmark.ValidatePlatform(req.Platform); err != nil {
		return nil, err
	}
	r, err := bp.v.parseRef(req.Ref)
	if err != nil {
		return nil, err
	}
	subject, ok := r.(name.Digest)
	var digest hallmark.Digest
	if ok {
		if digest, err = hallmark.ParseDigest(subject.DigestStr()); err != nil {
			return nil, fmt.Errorf("parse image reference %q: %w", hallmark.Clip(req.Ref, 80), err)
		}
	} else {
		// A tag is resolved now, every time: the cache is keyed by digest.
		rctx := bp.v.withManifestLimit(ctx)
		if subject, digest, err = resolveHead(rctx, r, bp.v.opts.maxManifestSize, bp.v.opts.registry.RemoteOptions(rctx)); err != nil {
			return nil, err
		}
	}
	// The repository is part of the key: referrers are found per
	// repository, and rules may look at it, so the same digest elsewhere
	// is verified on its own.
	key := subject.Context().String() + "@" + digest.String() + "|" + bp.p.Hash() + "|" + bp.trust.Version.String()
	if req.VSA {
		key += "|vsa"
	}
	// The platform selection decides which manifests are verified: "all"
	// and one platform of the same index are different questions.
	key += "|platform=" + req.Platform
	if bp.p.ReadsImage() {
		// Rules see image.ref as the caller wrote it: a verdict for one
		// reference must not answer for another (a tag vs its digest).
		key += "|ref=" + req.Ref
	}
	if v := e.cache.get(key); v != nil && !req.Fresh {
		return withRef(v, req.Ref, true), nil
	}
	res := e.flights.do(ctx, key, func(fctx context.Context, started func()) (*Verdict, error) {
		return e.verifyShared(fctx, started, key, bp, req, subject, digest)
	})
	switch {
	case res.left && !res.started:
		return nil, fmt.Errorf("verify %s: %w: %w while waiting for a free verification slot (all %d busy; limit set by %s)",
			hallmark.Clip(req.Ref, 80), hallmark.ErrCanceled, context.Cause(ctx), e.o.maxConcurrent, SettingMaxConcurrent)
	case res.left:
		return nil, fmt.Errorf("verify %s: %w: %w", hallmark.Clip(req.Ref, 80), hallmark.ErrCanceled, context.Cause(ctx))
	case res.err != nil:
		return nil, res.err
	}
	return withRef(res.verdict, req.Ref, res.shared), nil
}

// verifyShared is the verification of key that concurrent requests share:
// it waits for a slot, then verifies and caches the verdict. ctx ends when
// no request waits any more; the verification is bounded by its own
// timeout too, slot wait included.
func (e *Evaluator) verifyShared(ctx context.Context, started func(), key string, bp *boundPolicy, req Request, subject name.Digest, digest hallmark.Digest) (*Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, e.o.verifyTimeout)
	defer cancel()
	release, err := e.slots.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify %s: wait for a free verification slot: %w", subject, registry.Error(ctx, err))
	}
	defer release()
	started()
	v, err := e.evaluate(bp.v.withManifestLimit(ctx), bp, req, subject, digest)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		// A rule cut off by the end of ctx is no verdict to cache.
		return nil, fmt.Errorf("verify %s: %w", subject, registry.Error(ctx, err))
	}
	ttl := e.o.denyTTL
	if v.Allowed {
		ttl = e.o.allowTTL
	}
	e.cache.put(key, v, ttl)
	return v, nil
}

// withRef returns a shallow copy of v for a request that named ref.
func withRef(v *Verdict, ref string, cached bool) *Verdict {
	c := *v
	c.Ref, c.Cached = ref, cached
	c.Input.Image.Ref = ref
	if v.Platforms != nil {
		c.Platforms = slices.Clone(v.Platforms)
		for i := range c.Platforms {
			c.Platforms[i].Input.Image.Ref = ref
		}
	}
	return &c
}

// resolveHead resolves a tag to the digest of its manifest with one HEAD
// request (GET of at most limit bytes when the registry does not answer
// HEAD).
func resolveHead(ctx context.Context, r name.Reference, limit int64, ropts []remote.Option) (name.Digest, hallmark.Digest, error) {
	desc, err := remote.Head(r, ropts...)
	if err != nil {
		return resolve(ctx, r, limit, ropts)
	}
	d, err := hallmark.ParseDigest(desc.Digest.String())
	if err != nil {
		return name.Digest{}, "", fmt.Errorf("resolve %s: %w", r, err)
	}
	return r.Context().Digest(d.String()), d, nil
}

// evaluate verifies the image subject, which the caller named req.Ref, and
// evaluates bp's rules: on the image, or on an index and its selected
// platform manifests (evaluateIndex).
func (e *Evaluator) evaluate(ctx context.Context, bp *boundPolicy, req Request, subject name.Digest, digest hallmark.Digest) (*Verdict, error) {
	start := e.o.now()
	m, err := e.checkManifest(ctx, bp, req.Ref, subject, digest, req.Platform != "")
	if err != nil {
		return nil, err
	}
	v := &Verdict{
		Digest: digest, Pinned: subject.String(), Platform: req.Platform,
		Policy: bp.p.Name(), PolicyHash: bp.p.Hash(),
		Attestations: m.res.Attestations, Superseded: m.res.Superseded, EvaluatedAt: start, Input: m.input,
	}
	if m.index == nil {
		v.Rules = append(m.rules(ctx, bp), platformRule(m.input.Image.Config, req.Platform)...)
		v.Allowed, v.Reasons = outcome(v.Rules)
	} else if err := e.evaluateIndex(ctx, bp, req, subject, m, v); err != nil {
		return nil, err
	}
	builderChecked := false
	for _, r := range v.Rules {
		if r.Passed && r.Name == "builders" {
			builderChecked = true
		}
	}
	if req.VSA && v.Allowed {
		if err := e.signVSA(ctx, v, builderChecked); err != nil {
			return nil, err
		}
	}
	e.o.verifier.logger.InfoContext(ctx, "verified image", "image", v.Pinned, "policy", v.Policy, "platform", req.Platform,
		"platforms", len(v.Platforms), "allowed", v.Allowed, "attestations", len(v.Attestations), "superseded", len(v.Superseded), "reasons", len(v.Reasons), "duration", e.o.now().Sub(start))
	return v, nil
}

// outcome is whether rules all passed, and a reason per failed rule.
func outcome(rules []policy.RuleResult) (bool, []string) {
	var reasons []string
	for _, r := range rules {
		if !r.Passed {
			reasons = append(reasons, fmt.Sprintf("rule %q: %s", r.Name, r.Message))
		}
	}
	return len(reasons) == 0, reasons
}

func (e *Evaluator) signVSA(ctx context.Context, v *Verdict, builderChecked bool) error {
	if e.o.vsaSigner == nil {
		return fmt.Errorf("sign verification summary: %w: this gateway has no signer for verification summaries", hallmark.ErrUnavailable)
	}
	st, err := vsaStatement(v, e.o.verifierID, builderChecked, e.o.now())
	if err != nil {
		return err
	}
	signed, err := e.o.vsaSigner.SignStatement(ctx, st)
	if err != nil {
		return fmt.Errorf("sign verification summary: %w", err)
	}
	v.VSA = &VSA{Statement: st, Signed: signed}
	return nil
}

// signersRule is the built-in rule that at least one attestation verified
// against the trusted root and the policy's signers.
func signersRule(res *ImageResult) policy.RuleResult {
	r := policy.RuleResult{Name: "signers"}
	if len(res.Verified("")) > 0 {
		r.Passed = true
		return r
	}
	if len(res.Attestations) == 0 {
		r.Message = "the image has no attestations"
		return r
	}
	r.Message = "no attestation verified"
	for i, a := range res.Attestations {
		if i == 3 {
			r.Message += fmt.Sprintf("; and %d more", len(res.Attestations)-3)
			break
		}
		r.Message += "; " + a.Failure
	}
	return r
}

// inputOf is what the policy's rules see of res and image.
func inputOf(res *ImageResult, image policy.Image, now time.Time) policy.Input {
	in := policy.Input{Image: image, Now: now}
	for _, a := range res.Attestations {
		if !a.Verified {
			continue
		}
		in.Attestations = append(in.Attestations, policy.Attestation{PredicateType: a.PredicateType,
			SignerIdentity: a.SignerIdentity, SignerIssuer: a.SignerIssuer})
		// Attestations are oldest first: the newest of each type wins.
		switch a.PredicateType {
		case hallmark.PredicateSLSAProvenanceV1:
			in.Provenance = object(a.Statement.Predicate)
		case hallmark.PredicateSPDX:
			in.SBOM = object(a.Statement.Predicate)
		case hallmark.PredicateVulns:
			in.Vulns = vulnsInput(a.Statement.Predicate, now)
		}
	}
	return in
}

func object(raw json.RawMessage) map[string]any {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}
