package attest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/errgroup"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/provenance"
	"github.com/hallmark-dev/hallmark/attest/publish"
	"github.com/hallmark-dev/hallmark/attest/sbom"
	"github.com/hallmark-dev/hallmark/attest/sign"
	"github.com/hallmark-dev/hallmark/internal/intoto"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/verify"
)

// Signer signs in-toto statements into Sigstore bundles, all of a build's
// at once (sign.Signer.SignAll).
type Signer interface {
	SignAll(ctx context.Context, statements [][]byte) ([]*sign.Signed, error)
}

var _ Signer = (*sign.Signer)(nil)

// Attester produces, signs and publishes the attestations of built images.
type Attester struct {
	signer Signer
	opts   options
	bases  *baseCache
}

// Option configures an Attester.
type Option func(*options) error

type options struct {
	builderID string
	version   string
	logger    *slog.Logger
	registry  *registry.Client
	bases     *verify.Verifier
	// publishParallelism bounds the subjects published to at once.
	publishParallelism int
}

// WithBuilderID sets the SLSA builder id written into provenance. It must
// be an absolute URI. The default is "https://hallmark.dev/builders/default".
func WithBuilderID(id string) Option {
	return func(o *options) error { o.builderID = id; return nil }
}

// WithHallmarkVersion sets the gateway version recorded in provenance and
// SBOMs. The default is "devel".
func WithHallmarkVersion(v string) Option {
	return func(o *options) error { o.version = v; return nil }
}

// WithLogger sets the logger; nil is an error (hallmark.ErrInvalid). The
// default discards logs.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		return hallmark.SetLogger(&o.logger, l)
	}
}

// WithRegistry sets the registry client that reads built images and
// publishes their attestations. The default is a client with anonymous
// access and no insecure hosts.
func WithRegistry(c *registry.Client) Option {
	return func(o *options) error {
		if c == nil {
			return fmt.Errorf("%w: registry client is nil", hallmark.ErrInvalid)
		}
		o.registry = c
		return nil
	}
}

// WithBaseSBOMs lets the SBOM of an image reuse the verified Hallmark SBOM of
// its runtime base image: v must trust only signers whose SBOMs are trusted
// as much as the gateway's own (normally exactly the gateway's identity).
// A base's verified SBOM is kept for 10 minutes, so builds on one base
// verify it once.
// The base's packages are copied, marked as coming from that SBOM, and only
// the layers the build added are cataloged. A base without a verified SBOM,
// or whose layers differ, is cataloged in full. The default is to catalog
// every image in full.
func WithBaseSBOMs(v *verify.Verifier) Option {
	return func(o *options) error { o.bases = v; return nil }
}

// WithPublishParallelism sets how many subjects (the image, or an index
// and each platform manifest) get their bundles published at once; all
// statements of a build are signed at once regardless. It must be at least
// 1. The default is 4.
func WithPublishParallelism(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: publish parallelism %d, want at least 1", hallmark.ErrInvalid, n)
		}
		o.publishParallelism = n
		return nil
	}
}

// New returns an Attester that signs with signer.
func New(signer Signer, opts ...Option) (*Attester, error) {
	o := options{
		builderID: "https://hallmark.dev/builders/default",
		version:   "devel",
		logger:    slog.New(slog.DiscardHandler),

		publishParallelism: 4,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.registry == nil {
		reg, err := registry.New()
		if err != nil {
			return nil, err
		}
		o.registry = reg
	}
	if signer == nil {
		return nil, errors.New("signer is nil")
	}
	return &Attester{signer: signer, opts: o, bases: &baseCache{now: time.Now}}, nil
}

// Attest writes the SBOM and provenance of the image res describes, signs
// them with what also adds, and publishes them as referrers of the image.
// logf receives progress lines for the caller, one call at a time. Any
// failure fails the whole attestation.
func (a *Attester) Attest(ctx context.Context, req hallmark.BuildRequest, res hallmark.BuildResult, logf func(string, ...any), also ...hallmark.AlsoSign) ([]hallmark.Attestation, error) {
	return a.attest(ctx, res, func() ([]byte, error) {
		return provenance.Predicate(provenance.Build{Request: req, Result: res, BuilderID: a.opts.builderID, HallmarkVersion: a.opts.version})
	}, logf, also)
}

// AttestBase is Attest for a base image assembled from Debian packages: the
// SBOM lists its packages (from their status.d files), the provenance is of
// provenance.BaseBuildType with every .deb as a resolved dependency.
func (a *Attester) AttestBase(ctx context.Context, req hallmark.BaseRequest, res hallmark.BaseResult, logf func(string, ...any), also ...hallmark.AlsoSign) ([]hallmark.Attestation, error) {
	return a.attest(ctx, res.Build, func() ([]byte, error) {
		return provenance.BasePredicate(provenance.BaseBuild{Request: req, Result: res, BuilderID: a.opts.builderID, HallmarkVersion: a.opts.version})
	}, logf, also)
}

// attest describes the image res names with an SBOM and the provenance
// predicate returns, then signs and publishes both. For an image index (a
// multi-platform build) each platform manifest gets its own SBOM (of its
// own layers) and provenance, published as its referrers, and the index
// gets the provenance (subject: the index digest), published as its
// referrer: see subjects. The predicates also returns are about the image
// (or index) itself.
func (a *Attester) attest(ctx context.Context, res hallmark.BuildResult, predicate func() ([]byte, error), logf func(string, ...any), also []hallmark.AlsoSign) ([]hallmark.Attestation, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	logf = serialized(logf)
	ref, err := a.digestRef(res.Repository, res.Digest)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	subjects, err := a.subjects(ctx, ref)
	if err != nil {
		return nil, err
	}
	pred, err := predicate()
	if err != nil {
		return nil, fmt.Errorf("write provenance: %w", err)
	}

	// One SBOM per image, one provenance per subject: SBOMs first, in
	// subject order, so a single image's statements are [SBOM, provenance].
	var statements []statement
	for _, s := range subjects {
		if s.image != nil {
			statements = append(statements, statement{subject: s, predicateType: hallmark.PredicateSPDX})
		}
		statements = append(statements, statement{subject: s, predicateType: hallmark.PredicateSLSAProvenanceV1})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(describeParallelism)
	for i := range statements {
		st := &statements[i]
		g.Go(func() error {
			var err error
			if st.predicateType == hallmark.PredicateSPDX {
				st.packages, err = a.sbomStatement(gctx, res, st, logf)
				return err
			}
			st.data, err = intoto.Statement(res.Repository, st.subject.digest, hallmark.PredicateSLSAProvenanceV1, pred)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	logf("%s (%s)", described(ref, statements), time.Since(start).Round(time.Millisecond))
	if statements, err = a.also(ctx, res, subjects, statements, also); err != nil {
		return nil, err
	}

	described := time.Now()
	atts, phases, err := a.signAndPublish(ctx, statements, logf)
	if err != nil {
		return nil, err
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	a.opts.logger.InfoContext(ctx, "attested", append([]any{"image", ref.String(), "manifests", len(subjects), "attestations", len(atts),
		"seconds", time.Since(start).Seconds(), "describe_ms", ms(described.Sub(start)), "sign_ms", ms(phases.sign), "publish_ms", ms(phases.publish)},
		phases.first.LogAttrs()...)...)
	return atts, nil
}

// also appends the statements of the predicates also returns, about the
// subject res names.
func (a *Attester) also(ctx context.Context, res hallmark.BuildResult, subjects []subject, statements []statement, also []hallmark.AlsoSign) ([]statement, error) {
	if len(also) == 0 {
		return statements, nil
	}
	top := slices.IndexFunc(subjects, func(s subject) bool { return s.digest == res.Digest })
	if top < 0 {
		return nil, fmt.Errorf("image %s is not among its own subjects", res.Digest)
	}
	described := make([]hallmark.Attestation, len(statements))
	for i, st := range statements {
		described[i] = hallmark.Attestation{PredicateType: st.predicateType, Subject: st.subject.digest, Platform: st.subject.platform, Packages: st.packages}
	}
	for _, f := range also {
		if f == nil {
			continue
		}
		preds, err := f(ctx, described)
		if err != nil {
			return nil, err
		}
		for _, p := range preds {
			data, err := intoto.Statement(res.Repository, res.Digest, p.Type, p.JSON)
			if err != nil {
				return nil, err
			}
			statements = append(statements, statement{subject: subjects[top], predicateType: p.Type, data: data})
		}
	}
	return statements, nil
}

// phases is where the time of signAndPublish went: the batch's signing
// (first is the split of the first statement's, the others' are alike)
// and the publishing.
type phases struct {
	sign, publish time.Duration
	first         sign.Timings
}

// signAndPublish signs statements in one batch, then publishes each
// subject's bundles, and returns their attestations in statement order.
func (a *Attester) signAndPublish(ctx context.Context, statements []statement, logf func(string, ...any)) ([]hallmark.Attestation, phases, error) {
	start := time.Now()
	data := make([][]byte, len(statements))
	for i, st := range statements {
		data[i] = st.data
	}
	signed, err := a.signer.SignAll(ctx, data)
	if err != nil {
		return nil, phases{}, err
	}
	signedAt := time.Now()
	atts := make([]hallmark.Attestation, len(statements))
	bySubject := map[string][]int{}
	var order []string
	for i, st := range statements {
		k := st.subject.ref.String()
		if _, ok := bySubject[k]; !ok {
			order = append(order, k)
		}
		bySubject[k] = append(bySubject[k], i)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(a.opts.publishParallelism)
	for _, k := range order {
		idx := bySubject[k]
		g.Go(func() error {
			bundles := make([]publish.Bundle, len(idx))
			for j, i := range idx {
				bundles[j] = publish.Bundle{Data: signed[i].Bundle, PredicateType: signed[i].PredicateType}
			}
			subject := statements[idx[0]].subject
			ds, err := publish.PublishAll(gctx, subject.ref, bundles, a.opts.registry.RemoteOptions(gctx)...)
			if err != nil {
				return fmt.Errorf("publish bundles%s: %w", subject.of(), err)
			}
			for j, i := range idx {
				st, s := statements[i], signed[i]
				atts[i] = s.Attestation(ds[j])
				atts[i].Subject, atts[i].Platform, atts[i].Packages = st.subject.digest, st.subject.platform, st.packages
				logf("signed %s%s as %s (log index %d), published %s", s.PredicateType, st.subject.of(), s.SignerIdentity, s.LogIndex, ds[j])
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, phases{}, err
	}
	return atts, phases{sign: signedAt.Sub(start), publish: time.Since(signedAt), first: signed[0].Timings}, nil
}

// sbomStatement catalogs st's image into an SPDX statement about it and
// returns the purls of its packages.
func (a *Attester) sbomStatement(ctx context.Context, res hallmark.BuildResult, st *statement, logf func(string, ...any)) ([]string, error) {
	sopts := []sbom.Option{sbom.WithImageName(res.Repository), sbom.WithToolVersion(a.opts.version), sbom.WithLogger(a.opts.logger)}
	if base := a.baseSBOM(ctx, res, st.subject.platform, logf); base != nil {
		sopts = append(sopts, sbom.WithBaseSBOM(base, len(base.Layers())))
	}
	doc, err := sbom.Generate(ctx, st.subject.image, sopts...)
	if err != nil {
		return nil, fmt.Errorf("generate sbom%s: %w", st.subject.of(), err)
	}
	data, err := doc.JSON()
	if err != nil {
		return nil, fmt.Errorf("encode sbom%s: %w", st.subject.of(), err)
	}
	st.data, err = intoto.Statement(res.Repository, st.subject.digest, hallmark.PredicateSPDX, data)
	purls := make([]string, 0, len(doc.Packages()))
	for _, p := range doc.Packages() {
		purls = append(purls, p.PURL)
	}
	return purls, err
}

func (a *Attester) digestRef(repo string, d hallmark.Digest) (name.Digest, error) {
	ref, err := a.opts.registry.ParseDigest(repo + "@" + d.String())
	if err != nil {
		return name.Digest{}, fmt.Errorf("image %s@%s: %w", repo, d, err)
	}
	return ref, nil
}

// serialized returns logf guarded by a mutex: the statements are signed and
// published in parallel, and callers' progress writers (a stream) are not
// safe for concurrent use.
func serialized(logf func(string, ...any)) func(string, ...any) {
	var mu sync.Mutex
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logf(format, args...)
	}
}
