package attest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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

// Signer signs an in-toto statement into a Sigstore bundle.
type Signer interface {
	Sign(ctx context.Context, statement []byte) (*sign.Signed, error)
}

var _ Signer = (*sign.Signer)(nil)

// Attester produces, signs and publishes the attestations of built images.
type Attester struct {
	signer Signer
	opts   options
}

// Option configures an Attester.
type Option func(*options) error

type options struct {
	builderID string
	version   string
	logger    *slog.Logger
	registry  *registry.Client
	bases     *verify.Verifier
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
// The base's packages are copied, marked as coming from that SBOM, and only
// the layers the build added are cataloged. A base without a verified SBOM,
// or whose layers differ, is cataloged in full. The default is to catalog
// every image in full.
func WithBaseSBOMs(v *verify.Verifier) Option {
	return func(o *options) error { o.bases = v; return nil }
}

// New returns an Attester that signs with signer.
func New(signer Signer, opts ...Option) (*Attester, error) {
	o := options{
		builderID: "https://hallmark.dev/builders/default",
		version:   "devel",
		logger:    slog.New(slog.DiscardHandler),
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
	return &Attester{signer: signer, opts: o}, nil
}

// Attest writes the SBOM and provenance of the image res describes, signs
// both, and publishes them as referrers of the image. logf receives progress
// lines for the caller, one call at a time. Any failure fails the whole
// attestation.
func (a *Attester) Attest(ctx context.Context, req hallmark.BuildRequest, res hallmark.BuildResult, logf func(string, ...any)) ([]hallmark.Attestation, error) {
	return a.attest(ctx, res, func() ([]byte, error) {
		return provenance.Predicate(provenance.Build{Request: req, Result: res, BuilderID: a.opts.builderID, HallmarkVersion: a.opts.version})
	}, logf)
}

// AttestBase is Attest for a base image assembled from Debian packages: the
// SBOM lists its packages (from their status.d files), the provenance is of
// provenance.BaseBuildType with every .deb as a resolved dependency.
func (a *Attester) AttestBase(ctx context.Context, req hallmark.BaseRequest, res hallmark.BaseResult, logf func(string, ...any)) ([]hallmark.Attestation, error) {
	return a.attest(ctx, res.Build, func() ([]byte, error) {
		return provenance.BasePredicate(provenance.BaseBuild{Request: req, Result: res, BuilderID: a.opts.builderID, HallmarkVersion: a.opts.version})
	}, logf)
}

// attest describes the image res names with an SBOM and the provenance
// predicate returns, then signs and publishes both.
func (a *Attester) attest(ctx context.Context, res hallmark.BuildResult, predicate func() ([]byte, error), logf func(string, ...any)) ([]hallmark.Attestation, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	logf = serialized(logf)
	ref, err := a.digestRef(res.Repository, res.Digest)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	img, err := a.image(ctx, ref)
	if err != nil {
		return nil, err
	}

	statements := make([][]byte, 2)
	var pkgs int
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		sopts := []sbom.Option{sbom.WithImageName(res.Repository), sbom.WithToolVersion(a.opts.version), sbom.WithLogger(a.opts.logger)}
		if base := a.baseSBOM(gctx, res, logf); base != nil {
			sopts = append(sopts, sbom.WithBaseSBOM(base, len(base.Layers())))
		}
		doc, err := sbom.Generate(gctx, img, sopts...)
		if err != nil {
			return fmt.Errorf("generate sbom: %w", err)
		}
		data, err := doc.JSON()
		if err != nil {
			return fmt.Errorf("encode sbom: %w", err)
		}
		pkgs = len(doc.Packages())
		statements[0], err = intoto.Statement(res.Repository, res.Digest, hallmark.PredicateSPDX, data)
		return err
	})
	g.Go(func() error {
		pred, err := predicate()
		if err != nil {
			return fmt.Errorf("write provenance: %w", err)
		}
		statements[1], err = intoto.Statement(res.Repository, res.Digest, hallmark.PredicateSLSAProvenanceV1, pred)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	logf("described %s: SBOM with %d packages, SLSA provenance (%s)", ref.DigestStr(), pkgs, time.Since(start).Round(time.Millisecond))

	atts := make([]hallmark.Attestation, len(statements))
	g, gctx = errgroup.WithContext(ctx)
	for i, st := range statements {
		g.Go(func() error {
			signed, err := a.signer.Sign(gctx, st)
			if err != nil {
				return err
			}
			d, err := publish.Publish(gctx, ref, signed.Bundle, signed.PredicateType, a.opts.registry.RemoteOptions(gctx)...)
			if err != nil {
				return fmt.Errorf("publish %s bundle: %w", signed.PredicateType, err)
			}
			atts[i] = signed.Attestation(d)
			logf("signed %s as %s (log index %d), published %s", signed.PredicateType, signed.SignerIdentity, signed.LogIndex, d)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	a.opts.logger.InfoContext(ctx, "attested", "image", ref.String(), "attestations", len(atts), "seconds", time.Since(start).Seconds())
	return atts, nil
}

func (a *Attester) digestRef(repo string, d hallmark.Digest) (name.Digest, error) {
	ref, err := a.opts.registry.ParseDigest(repo + "@" + d.String())
	if err != nil {
		return name.Digest{}, fmt.Errorf("image %s@%s: %w", repo, d, err)
	}
	return ref, nil
}

// image fetches the built image. For an index (a multi-platform build) it
// describes the first platform image; per-platform attestations are a
// later step.
func (a *Attester) image(ctx context.Context, ref name.Digest) (v1.Image, error) {
	desc, err := remote.Get(ref, a.opts.registry.RemoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", ref, registry.Error(ctx, err))
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("read index %s: %w", ref, err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("read index %s: %w", ref, err)
		}
		for _, child := range m.Manifests {
			if child.MediaType.IsImage() {
				return idx.Image(child.Digest)
			}
		}
		return nil, fmt.Errorf("%w: index %s has no image", hallmark.ErrInvalid, ref)
	}
	return desc.Image()
}

// baseSBOM returns the verified Hallmark SBOM of the build's runtime base,
// or nil (then the whole image is cataloged, which is always safe).
func (a *Attester) baseSBOM(ctx context.Context, res hallmark.BuildResult, logf func(string, ...any)) *sbom.Document {
	if a.opts.bases == nil || res.RuntimeBase == nil {
		return nil
	}
	r, err := a.opts.bases.Image(ctx, res.RuntimeBase.Pinned)
	if err != nil {
		a.opts.logger.WarnContext(ctx, "verify base sbom", "base", res.RuntimeBase.Pinned, "error", err)
		return nil
	}
	for _, att := range r.Verified(hallmark.PredicateSPDX) {
		doc, err := sbom.Parse(att.Statement.Predicate)
		if err != nil {
			continue
		}
		logf("reusing the verified SBOM of base %s (%d packages)", res.RuntimeBase.Pinned, len(doc.Packages()))
		return doc
	}
	return nil
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
