package verify

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// signerKey is what makes attestations compete: one predicate type signed
// by one identity.
type signerKey struct {
	predicateType, issuer, san string
}

func (a *Attestation) signerKey() signerKey {
	return signerKey{a.PredicateType, a.SignerIssuer, a.SignerIdentity}
}

// hint is what an entry of the referrers index claims about its bundle,
// unsigned.
type hint struct {
	key signerKey
	// created is the claimed creation time, zero when there is none that
	// parses.
	created time.Time
	// full says that the key and the creation time are all given: only
	// such an entry may be skipped.
	full bool
}

// hintOf reads the hint annotations of an index entry (or of a manifest).
func hintOf(annotations map[string]string) hint {
	h := hint{key: signerKey{
		predicateType: annotations[registry.AnnotationPredicateType],
		issuer:        annotations[registry.AnnotationSignerIssuer],
		san:           annotations[registry.AnnotationSignerIdentity],
	}}
	if t, err := time.Parse(time.RFC3339, annotations[registry.AnnotationCreated]); err == nil {
		h.created = t
	}
	h.full = h.key.predicateType != "" && h.key.issuer != "" && h.key.san != "" && !h.created.IsZero()
	return h
}

// candidate is one entry of the referrers index and its hints.
type candidate struct {
	d    *v1.Descriptor
	hint hint
}

// walked is what walk found.
type walked struct {
	// checked are the bundle referrers fetched and verified (or that
	// failed), in no order.
	checked []Attestation
	// skipped are the candidates skipped unfetched because a verified
	// attestation superseded what their hints claim.
	skipped []Attestation
	// omitted counts the candidates that would have needed verifying once
	// WithMaxBundles were used up (not strict only).
	omitted int
}

// checkedReferrer is the outcome of fetching and verifying one candidate.
type checkedReferrer struct {
	i int
	a Attestation
	// bundle says that the candidate is a bundle referrer of the subject.
	bundle bool
	err    error
}

// walk fetches and verifies the candidates ds of subject, whose digest is
// digest, that are not superseded by what it verified before (see the
// package documentation, "How old bundles are treated", for the rule and
// why the unsigned hints may choose), up to parallelism at once and at most
// WithMaxBundles of them. When strict, a walk that would need to verify
// more is a *LimitError; otherwise the rest are omitted. Errors are those
// of the registry and of limits.
func (v *Verifier) walk(ctx context.Context, subject name.Digest, digest hallmark.Digest, ds []v1.Descriptor, strict bool) (walked, error) {
	cands := make([]candidate, len(ds))
	unhinted := 0
	for i := range ds {
		cands[i] = candidate{d: &ds[i], hint: hintOf(ds[i].Annotations)}
		if !cands[i].hint.full {
			unhinted++
		}
	}
	// Newest first by claimed creation time (none counts as oldest); ties
	// by digest, for a fixed order.
	slices.SortStableFunc(cands, func(a, b candidate) int {
		return cmp.Or(b.hint.created.Compare(a.hint.created),
			strings.Compare(b.d.Digest.Algorithm, a.d.Digest.Algorithm), strings.Compare(b.d.Digest.Hex, a.d.Digest.Hex))
	})
	budget := v.opts.maxBundles
	if strict && unhinted > budget {
		// These are never skipped: decided from the index alone.
		return walked{}, overBundles(subject, unhinted, budget)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ropts := v.opts.registry.RemoteOptions(ctx)
	// Each running check sends once; the buffer lets them finish after an
	// error returned early.
	results := make(chan checkedReferrer, parallelism)
	newest := map[signerKey]time.Time{}
	running := map[int]bool{}
	pending := make([]int, len(cands))
	for i := range pending {
		pending[i] = i
	}
	var w walked
	fetched := 0
	for {
		next := pending[:0]
		for n, i := range pending {
			c := cands[i]
			switch {
			case skippable(c.hint, newest):
				w.skipped = append(w.skipped, skippedAttestation(subject, c))
			case waits(i, cands, running):
				next = append(next, i)
			case fetched >= budget && len(running) > 0:
				// A check still running may supersede it.
				next = append(next, i)
			case fetched >= budget && strict:
				need := fetched + 1
				for _, j := range pending[n+1:] {
					if !skippable(cands[j].hint, newest) {
						need++
					}
				}
				return walked{}, overBundles(subject, need, budget)
			case fetched >= budget:
				w.omitted++
			case len(running) >= parallelism:
				next = append(next, i)
			default:
				fetched++
				running[i] = true
				go func() {
					a, ok, err := v.check(ctx, subject, digest, *c.d, ropts)
					results <- checkedReferrer{i: i, a: a, bundle: ok, err: err}
				}()
			}
		}
		pending = next
		if len(running) == 0 {
			// Nothing waits on a check, so every pending candidate was
			// decided.
			return w, nil
		}
		r := <-results
		delete(running, r.i)
		switch {
		case r.err != nil:
			return walked{}, r.err
		case !r.bundle:
			continue
		}
		w.checked = append(w.checked, r.a)
		if k := r.a.signerKey(); r.a.Verified && r.a.Timestamp.After(newest[k]) {
			newest[k] = r.a.Timestamp
		}
	}
}

// skippable says that a candidate with hint h is superseded by one of the
// newest verified signing times: its hints name the same predicate type
// and signer, and its creation time is before that signing time's second.
func skippable(h hint, newest map[signerKey]time.Time) bool {
	t, ok := newest[h.key]
	return h.full && ok && h.created.Before(t.Truncate(time.Second))
}

// waits says that candidate i, once not skippable, should wait for a
// running check that may yet supersede it: one earlier in the walk, of a
// later second, whose hints name the same predicate type and signer or
// name none. (Published honestly, an attestation's creation time is not
// before its signing time's second, so one of the same second cannot
// supersede it unfetched.) Waiting saves work only: it never decides what
// is evaluated.
func waits(i int, cands []candidate, running map[int]bool) bool {
	c := cands[i].hint
	if !c.full {
		return false
	}
	for j := range running {
		r := cands[j].hint
		if j < i && (!r.full || r.key == c.key) && r.created.Truncate(time.Second).After(c.created.Truncate(time.Second)) {
			return true
		}
	}
	return false
}

// overBundles is the error of an image that needs more than limit bundles
// verified.
func overBundles(subject name.Digest, need, limit int) error {
	return &LimitError{What: "referrers index", Of: subject.String(), Size: int64(need), Limit: int64(limit),
		Unit: "bundle referrers to verify", Setting: SettingMaxBundles}
}

// check verifies the bundle of the referrer d of subject for the image with
// digest. When d's index entry names its bundle (the hint
// registry.AnnotationBundleDigest), that blob is read and verified without
// the referrer manifest (doc.go says why that is safe); else, or when that
// blob cannot be read or is no Sigstore bundle, the manifest is fetched
// and names the bundle. bundle is false when d is not a bundle referrer of
// subject (or is gone); errors are the registry's and limits'.
func (v *Verifier) check(ctx context.Context, subject name.Digest, digest hallmark.Digest, d v1.Descriptor, ropts []remote.Option) (a Attestation, bundle bool, err error) {
	pre := v.prefetch(ctx, subject, d, ropts)
	defer pre.cancel()
	if r, ok := pre.referrer(subject, d); ok {
		a, err = v.attestation(ctx, r, digest, ropts, pre)
		return a, true, err
	}
	r, err := describe(ctx, subject, d, v.opts.maxManifestSize, ropts)
	if errors.Is(err, errNotBundle) || errors.Is(err, hallmark.ErrNotFound) {
		return Attestation{}, false, nil
	}
	if err != nil {
		return Attestation{}, false, err
	}
	a, err = v.attestation(ctx, r, digest, ropts, pre)
	return a, true, err
}

// prefetched is a bundle read by the index entry's hint
// (registry.AnnotationBundleDigest): verified as the referrer's bundle
// without the manifest (referrer), or, when the manifest had to be read,
// used only when it names the same digest (the bytes are checked against
// it).
type prefetched struct {
	digest hallmark.Digest
	done   chan struct{}
	data   []byte
	err    error
	cancel context.CancelFunc
}

// prefetch starts reading the bundle d's hint names, or returns an empty
// prefetch when there is no hint.
func (v *Verifier) prefetch(ctx context.Context, subject name.Digest, d v1.Descriptor, ropts []remote.Option) *prefetched {
	want, err := hallmark.ParseDigest(d.Annotations[registry.AnnotationBundleDigest])
	if err != nil {
		return &prefetched{cancel: func() {}}
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &prefetched{digest: want, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		p.data, p.err = registry.ReadBlob(ctx, subject.Context().Digest(want.String()), -1, v.opts.maxBundleSize, ropts...)
	}()
	return p
}

// referrer describes the referrer d of subject from its index entry and
// the bundle read by its hint, without its manifest; false when there was
// no hint, or the hinted blob could not be read or does not declare a
// Sigstore bundle media type.
func (p *prefetched) referrer(subject name.Digest, d v1.Descriptor) (Referrer, bool) {
	if p.done == nil {
		return Referrer{}, false
	}
	<-p.done
	if p.err != nil {
		return Referrer{}, false
	}
	mediaType, err := bundleMediaType(p.data)
	if err != nil || !strings.HasPrefix(mediaType, bundlePrefix) {
		return Referrer{}, false
	}
	r := indexReferrer(subject, d, hintOf(d.Annotations))
	r.BundleDigest, r.BundleSize, r.BundleMediaType = p.digest, int64(len(p.data)), mediaType
	return r, true
}

// bundle returns the prefetched bundle if it is r's, read whole and of the
// size r's manifest gives; false sends the caller to fetch it.
func (p *prefetched) bundle(r Referrer) ([]byte, bool) {
	if p.done == nil || p.digest != r.BundleDigest {
		return nil, false
	}
	<-p.done
	if p.err != nil || int64(len(p.data)) != r.BundleSize {
		return nil, false
	}
	return p.data, true
}

// skippedAttestation is a candidate skipped unfetched, described by its
// index entry only: unverified, its fields are claims.
func skippedAttestation(subject name.Digest, c candidate) Attestation {
	r := indexReferrer(subject, *c.d, c.hint)
	if d, err := hallmark.ParseDigest(c.d.Annotations[registry.AnnotationBundleDigest]); err == nil {
		r.BundleDigest = d
	}
	return Attestation{Referrer: r, PredicateType: r.PredicateType, LogIndex: -1}
}

// indexReferrer is the referrer d of subject as its index entry and hints
// h describe it: claims, until its bundle is verified.
func indexReferrer(subject name.Digest, d v1.Descriptor, h hint) Referrer {
	return Referrer{
		Ref:            subject.Context().Digest(d.Digest.String()),
		Digest:         hallmark.Digest(d.Digest.String()),
		ArtifactType:   d.ArtifactType,
		PredicateType:  h.key.predicateType,
		SignerIssuer:   h.key.issuer,
		SignerIdentity: h.key.san,
		Created:        h.created,
		Annotations:    d.Annotations,
	}
}

// supersede splits the checked attestations into those evaluated (the
// newest verified of each predicate type and signer, ties all kept, and
// those that did not verify) and those a newer verified attestation
// superseded, to which it adds the skipped ones; SupersededBy names the
// newest. Both are sorted oldest first.
func supersede(checked, skipped []Attestation) (current, superseded []Attestation) {
	newest := map[signerKey]*Attestation{}
	for i := range checked {
		a := &checked[i]
		if !a.Verified {
			continue
		}
		k := a.signerKey()
		if n := newest[k]; n == nil || a.Timestamp.After(n.Timestamp) ||
			a.Timestamp.Equal(n.Timestamp) && a.Referrer.Digest > n.Referrer.Digest {
			newest[k] = a
		}
	}
	for _, a := range checked {
		if n := newest[a.signerKey()]; a.Verified && a.Timestamp.Before(n.Timestamp) {
			a.SupersededBy = n.Referrer.Digest
			superseded = append(superseded, a)
			continue
		}
		current = append(current, a)
	}
	for _, a := range skipped {
		k := signerKey{a.Referrer.PredicateType, a.Referrer.SignerIssuer, a.Referrer.SignerIdentity}
		if n := newest[k]; n != nil {
			a.SupersededBy = n.Referrer.Digest
		}
		superseded = append(superseded, a)
	}
	sortAttestations(current)
	sortAttestations(superseded)
	return current, superseded
}

// sortAttestations sorts as sortReferrers does.
func sortAttestations(as []Attestation) {
	slices.SortFunc(as, func(a, b Attestation) int {
		return cmp.Or(a.Referrer.Created.Compare(b.Referrer.Created), strings.Compare(string(a.Referrer.Digest), string(b.Referrer.Digest)))
	})
}
