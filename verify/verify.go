package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/intoto"
	"github.com/hallmark-dev/hallmark/registry"
)

// Verifier finds and verifies the Sigstore bundles attached to images. It is
// safe for concurrent use.
type Verifier struct {
	trustedRoot *root.TrustedRoot
	opts        options
	matchers    []matcher
	requireSCT  bool
	requireTlog bool
	refs        *refCache
}

// maxCachedRefs bounds refCache; when full it starts over.
const maxCachedRefs = 4096

// refCache remembers parsed image references. Parsing is a pure function of
// the string, so a hit is exactly what parsing again would give.
type refCache struct {
	mu sync.RWMutex
	m  map[string]name.Reference
}

func (c *refCache) get(ref string) (name.Reference, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.m[ref]
	return r, ok
}

func (c *refCache) put(ref string, r name.Reference) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedRefs {
		clear(c.m)
	}
	c.m[ref] = r
}

// New returns a Verifier that trusts the Fulcio, transparency logs,
// timestamp authorities and CT logs of trustedRoot, and the signer
// identities given by WithIdentities (at least one is required, unless
// WithAnyIdentityUnsafe is given).
//
// What a bundle must carry follows the trusted root: an SCT when it lists CT
// logs, an entry in one of its transparency logs when it lists any (see
// WithoutTransparencyLogUnsafe), and a signed RFC 3161 timestamp whenever no
// log entry has an integrated time (Rekor v2 entries have none).
func New(trustedRoot *root.TrustedRoot, opts ...Option) (*Verifier, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt.applyToVerifier(&o); err != nil {
			return nil, fmt.Errorf("new verifier: %w", err)
		}
	}
	return newVerifier(trustedRoot, o)
}

// newVerifier returns a Verifier with the options o.
func newVerifier(trustedRoot *root.TrustedRoot, o options) (*Verifier, error) {
	if trustedRoot == nil {
		return nil, fmt.Errorf("new verifier: %w: trusted root is nil", hallmark.ErrInvalid)
	}
	if len(trustedRoot.FulcioCertificateAuthorities()) == 0 {
		return nil, fmt.Errorf("new verifier: %w: trusted root has no certificate authority", hallmark.ErrInvalid)
	}
	switch {
	case o.anyIdentity && len(o.identities) > 0:
		return nil, fmt.Errorf("new verifier: %w: identities and WithAnyIdentityUnsafe exclude each other", hallmark.ErrInvalid)
	case !o.anyIdentity && len(o.identities) == 0:
		return nil, fmt.Errorf("new verifier: %w: no signer identity: give at least one (or WithAnyIdentityUnsafe)", hallmark.ErrInvalid)
	}
	if o.registry == nil {
		reg, err := registry.New()
		if err != nil {
			return nil, fmt.Errorf("new verifier: %w", err)
		}
		o.registry = reg
	}
	v := &Verifier{
		trustedRoot: trustedRoot,
		opts:        o,
		refs:        &refCache{m: map[string]name.Reference{}},
		requireSCT:  len(trustedRoot.CTLogs()) > 0,
		requireTlog: len(trustedRoot.RekorLogs()) > 0 && !o.noTlog,
	}
	for _, id := range o.identities {
		m, err := compileIdentity(id)
		if err != nil {
			return nil, fmt.Errorf("new verifier: %w", err)
		}
		v.matchers = append(v.matchers, m)
	}
	return v, nil
}

// ImageResult is what Image found: the image's digest and every bundle
// referrer considered, verified or not.
type ImageResult struct {
	// Ref is the reference as given.
	Ref string
	// Digest is the image manifest (or index) digest Ref resolved to, once;
	// everything else was read by this digest.
	Digest hallmark.Digest
	// Pinned is "registry/repository@sha256:<hex>".
	Pinned string
	// Attestations are the bundle referrers evaluated, oldest first: the
	// newest verified attestation of each predicate type and signer (all
	// of those signed at the same verified time), and every bundle
	// referrer that was checked and did not verify.
	Attestations []Attestation
	// Superseded are the bundle referrers not evaluated because a newer
	// verified attestation of the same predicate type by the same signer
	// exists, oldest first, each naming it in SupersededBy: those verified
	// (Verified true), and those skipped unfetched because their unsigned
	// hints claim they are older (Verified false, Failure empty, only the
	// Referrer's index fields and PredicateType set). See the package
	// documentation, "How old bundles are treated".
	Superseded []Attestation
	// Omitted counts the bundle referrers that were neither verified nor
	// superseded because WithMaxBundles bundles had been verified already
	// (the oldest, by their creation annotation). An Evaluator never
	// omits: it answers such an image with an error.
	Omitted int
}

// Verified returns the verified attestations whose statement has
// predicateType, oldest first; "" matches every predicate type.
func (r *ImageResult) Verified(predicateType string) []Attestation {
	var out []Attestation
	for _, a := range r.Attestations {
		if a.Verified && (predicateType == "" || a.PredicateType == predicateType) {
			out = append(out, a)
		}
	}
	return out
}

// Attestation is one bundle referrer of an image and the outcome of its
// verification. Only a Verified attestation's fields can be trusted; the
// others explain what was wrong.
type Attestation struct {
	// Referrer is the referrer manifest that carries the bundle.
	Referrer Referrer
	// PredicateType is the verified statement's predicate type; for an
	// unverified attestation, the referrer's (unsigned) annotation.
	PredicateType string
	// Statement is the verified statement, nil unless Verified.
	Statement *intoto.ParsedStatement
	// SignerIdentity and SignerIssuer are the certificate's subject
	// alternative name and OIDC issuer, set once the certificate chain,
	// timestamps and signature verified (also when the identity then does
	// not match).
	SignerIdentity string
	SignerIssuer   string
	// LogIndex is the index of the verified transparency log entry, or -1.
	LogIndex int64
	// Timestamp is the verified signing time: the RFC 3161 timestamp, else
	// the log's integrated time.
	Timestamp time.Time
	// Verified says that the bundle verified against the trusted root, its
	// signer matched an allowed identity and its statement is about the
	// image.
	Verified bool
	// Failure says why the attestation did not verify; empty if it did,
	// and for a superseded attestation skipped unfetched.
	Failure string
	// SupersededBy is the referrer digest of the newer verified
	// attestation of the same predicate type and signer that superseded
	// this one (ImageResult.Superseded); empty for one evaluated.
	SupersededBy hallmark.Digest
}

// Image resolves ref to a digest, once, and verifies the Sigstore bundles
// attached to that digest that are not superseded by newer ones of the same
// predicate type and signer (ImageResult.Superseded), up to WithMaxBundles
// of them (ImageResult.Omitted counts the rest). What it reads is bounded:
// see WithMaxManifestSize, WithMaxReferrers, WithMaxBundles and
// WithMaxBundleSize.
//
// A bundle that does not verify is an Attestation with Verified false and a
// Failure, not an error. Errors mean the image could not be evaluated: they
// wrap hallmark.ErrInvalid for a malformed reference, hallmark.ErrNotFound
// when the image does not exist, hallmark.ErrPermissionDenied when the
// registry refused access, hallmark.ErrUnavailable when it could not be
// reached or failed, hallmark.ErrCanceled when ctx ended, and a
// *LimitError (hallmark.ErrTooLarge) when a manifest or the referrers index
// is over its limit.
func (v *Verifier) Image(ctx context.Context, ref string) (*ImageResult, error) {
	r, err := v.parseRef(ref)
	if err != nil {
		return nil, err
	}
	ctx = v.withManifestLimit(ctx)
	subject, digest, err := resolve(ctx, r, v.opts.maxManifestSize, v.opts.registry.RemoteOptions(ctx))
	if err != nil {
		return nil, err
	}
	return v.verifyDigest(ctx, ref, subject, digest, false)
}

// verifyDigest verifies the bundles attached to subject, the image ref
// resolved to; ctx carries the manifest limit (withManifestLimit). When
// strict, an image that needs more bundles verified than WithMaxBundles is
// an error instead of a result about the newest.
func (v *Verifier) verifyDigest(ctx context.Context, ref string, subject name.Digest, digest hallmark.Digest, strict bool) (*ImageResult, error) {
	lim := listLimits{manifest: v.opts.maxManifestSize, referrers: v.opts.maxReferrers}
	cands, err := list(ctx, subject, lim, v.opts.registry.RemoteOptions(ctx))
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", subject, err)
	}
	w, err := v.walk(ctx, subject, digest, cands, strict)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", subject, err)
	}
	if w.omitted > 0 {
		v.opts.logger.WarnContext(ctx, "too many bundle referrers to verify; considering the newest", "image", subject.String(),
			"verified", len(w.checked), "omitted", w.omitted)
	}
	atts, superseded := supersede(w.checked, w.skipped)
	for _, a := range atts {
		v.opts.logger.DebugContext(ctx, "checked attestation", "image", subject.String(), "referrer", a.Referrer.Digest,
			"predicateType", a.PredicateType, "verified", a.Verified, "failure", a.Failure)
	}
	if len(superseded) > 0 {
		v.opts.logger.DebugContext(ctx, "superseded attestations", "image", subject.String(), "superseded", len(superseded),
			"fetched", len(superseded)-len(w.skipped))
	}
	return &ImageResult{Ref: ref, Digest: digest, Pinned: subject.String(), Attestations: atts, Superseded: superseded, Omitted: w.omitted}, nil
}

// parseRef parses an image reference, for plain HTTP if its registry is
// one of the registry client's insecure hosts. Parsed references are remembered: parsing
// costs more than a cached verdict, and admission asks about the same
// images over and over.
func (v *Verifier) parseRef(ref string) (name.Reference, error) {
	if r, ok := v.refs.get(ref); ok {
		return r, nil
	}
	r, err := v.parseRefUncached(ref)
	if err == nil {
		v.refs.put(ref, r)
	}
	return r, err
}

func (v *Verifier) parseRefUncached(ref string) (name.Reference, error) {
	r, err := v.opts.registry.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parse image reference %q: %w", hallmark.Clip(ref, 80), err)
	}
	return r, nil
}

// resolve fetches the manifest r names, of at most limit bytes, and returns
// the reference by the digest of the bytes received: the one digest used
// from then on.
func resolve(ctx context.Context, r name.Reference, limit int64, ropts []remote.Option) (name.Digest, hallmark.Digest, error) {
	subject, d, _, err := resolveManifest(ctx, r, limit, ropts)
	return subject, d, err
}

// resolveManifest is resolve that also returns the manifest received.
func resolveManifest(ctx context.Context, r name.Reference, limit int64, ropts []remote.Option) (name.Digest, hallmark.Digest, *remote.Descriptor, error) {
	desc, err := getManifest(ctx, r, limit, "image manifest", ropts)
	if err != nil {
		if errors.Is(err, hallmark.ErrNotFound) {
			return name.Digest{}, "", nil, fmt.Errorf("resolve %s: image does not exist: %w", r, err)
		}
		return name.Digest{}, "", nil, fmt.Errorf("resolve %s: %w", r, err)
	}
	d, err := hallmark.ParseDigest(desc.Digest.String())
	if err != nil {
		return name.Digest{}, "", nil, fmt.Errorf("resolve %s: %w", r, err)
	}
	return r.Context().Digest(d.String()), d, desc, nil
}

// attestation fetches and verifies one bundle referrer of the image with
// digest. It returns an error only when the registry failed.
func (v *Verifier) attestation(ctx context.Context, r Referrer, digest hallmark.Digest, ropts []remote.Option, pre *prefetched) (Attestation, error) {
	a := Attestation{Referrer: r, PredicateType: r.PredicateType, LogIndex: -1}
	if !slices.Contains(supportedMediaTypes, r.BundleMediaType) {
		a.Failure = fmt.Sprintf("bundle media type %q is not supported", hallmark.Clip(r.BundleMediaType, 80))
		return a, nil
	}
	data, ok := pre.bundle(r)
	var err error
	if !ok {
		data, err = fetch(ctx, r, v.opts.maxBundleSize, ropts)
	}
	switch {
	case errors.Is(err, hallmark.ErrUnavailable) || errors.Is(err, hallmark.ErrCanceled):
		return a, err
	case errors.Is(err, hallmark.ErrTooLarge):
		a.Failure = overLimit(err, "bundle", r.Ref.String(), SettingMaxBundleBytes).Error()
		return a, nil
	case err != nil:
		a.Failure = clipErr(err)
		return a, nil
	}
	v.verifyBundle(&a, data, digest)
	return a, nil
}

// verifyBundle verifies data, the bundle of a, for the image with digest and
// records the outcome in a.
func (v *Verifier) verifyBundle(a *Attestation, data []byte, digest hallmark.Digest) {
	pb, err := parseBundle(data, v.opts.maxBundleSize)
	if err != nil {
		a.Failure = err.Error()
		return
	}
	entries, err := pb.bundle.TlogEntries()
	if err != nil {
		a.Failure = "read transparency log entries: " + clipErr(err)
		return
	}
	if len(entries) == 0 && v.requireTlog {
		a.Failure = "bundle has no transparency log entry"
		return
	}
	sv, err := sgverify.NewVerifier(v.trustedRoot, v.verifierOptions(pb, len(entries) > 0)...)
	if err != nil {
		a.Failure = "configure verification: " + clipErr(err)
		return
	}
	res, err := sv.Verify(pb.bundle, sgverify.NewPolicy(sgverify.WithoutArtifactUnsafe(), sgverify.WithoutIdentitiesUnsafe()))
	if err != nil {
		a.Failure = "verify bundle: " + sigstoreFailure(err)
		return
	}
	if res.Signature == nil || res.Signature.Certificate == nil {
		a.Failure = "bundle is signed with a key, not a Fulcio certificate"
		return
	}
	cert := res.Signature.Certificate
	a.SignerIdentity, a.SignerIssuer = cert.SubjectAlternativeName, cert.Issuer
	a.LogIndex, a.Timestamp = logIndex(v.trustedRoot, entries), signingTime(res)
	if !v.identityAllowed(cert.Issuer, cert.SubjectAlternativeName) {
		a.Failure = fmt.Sprintf("certificate identity %s (issuer %s) does not match the policy", hallmark.Clip(cert.SubjectAlternativeName, 80), hallmark.Clip(cert.Issuer, 80))
		return
	}
	st, err := intoto.Parse(pb.payload, int(v.opts.maxBundleSize))
	if err != nil {
		a.Failure = clipErr(err)
		return
	}
	a.PredicateType = st.PredicateType
	if !st.HasSubjectDigest(digest) {
		a.Failure = "subject digest does not match the image: the statement is about " + subjects(st)
		return
	}
	a.Statement = st
	a.Verified = true
}

// verifierOptions says what pb must carry to verify: see requiredMaterial.
func (v *Verifier) verifierOptions(pb *parsedBundle, hasEntries bool) []sgverify.VerifierOption {
	return requiredMaterial(pb.bundle, hasEntries, v.requireSCT)
}

func (v *Verifier) identityAllowed(issuer, san string) bool {
	return v.opts.anyIdentity || anyMatch(v.matchers, issuer, san)
}

// subjects lists a statement's sha256 subject digests for a failure.
func subjects(st *intoto.ParsedStatement) string {
	var ds []string
	for _, s := range st.Subjects {
		if d, ok := s.SHA256(); ok {
			ds = append(ds, d.String())
		}
	}
	if len(ds) > 3 {
		ds = append(ds[:3], "…")
	}
	return strings.Join(ds, ", ")
}
