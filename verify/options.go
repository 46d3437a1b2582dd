package verify

import (
	"fmt"
	"log/slog"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// Defaults of the options.
const (
	// DefaultMaxBundles is how many bundle referrers of one image a
	// verification fetches and verifies by default (superseded ones it
	// skips do not count).
	DefaultMaxBundles = 32
	// parallelism bounds the bundles fetched and verified at once.
	parallelism = 4
)

// Each constructor has its own option type, so that an option given to the
// wrong one does not compile: Option for New (a Verifier), EvaluatorOption
// for NewEvaluator and BundleOption for VerifyBundle. An option that means
// the same for several of them is a value of each of their types: WithRegistry,
// say, returns an ImageOption, both an Option and an EvaluatorOption.

// Option configures a Verifier (New).
type Option interface {
	applyToVerifier(*options) error
}

// EvaluatorOption configures an Evaluator (NewEvaluator).
type EvaluatorOption interface {
	applyToEvaluator(*evalOptions) error
}

// BundleOption configures VerifyBundle.
type BundleOption interface {
	applyToBundle(*bundleOptions) error
}

// ImageOption says how images are read and verified: it configures a
// Verifier, and an Evaluator's Verifier for each of its policies.
type ImageOption interface {
	Option
	EvaluatorOption
}

// SignerOption says whose signatures are accepted, for a Verifier and for
// VerifyBundle. (An Evaluator takes its signers from its policies.)
type SignerOption interface {
	Option
	BundleOption
}

// LimitOption bounds what is read, for a Verifier, an Evaluator and
// VerifyBundle.
type LimitOption interface {
	Option
	EvaluatorOption
	BundleOption
}

// options configure a Verifier.
type options struct {
	identities    []Identity
	anyIdentity   bool
	noTlog        bool
	registry      *registry.Client
	logger        *slog.Logger
	maxBundles    int
	maxBundleSize int64
	// maxManifestSize and maxReferrers: see limits.go.
	maxManifestSize int64
	maxReferrers    int
}

func defaultOptions() options {
	return options{
		logger:        slog.New(slog.DiscardHandler),
		maxBundles:    DefaultMaxBundles,
		maxBundleSize: registry.MaxBundleSize,

		maxManifestSize: DefaultMaxManifestSize,
		maxReferrers:    DefaultMaxReferrers,
	}
}

// verifierOption is an Option only.
type verifierOption func(*options) error

func (f verifierOption) applyToVerifier(o *options) error { return f(o) }

// imageOption is an ImageOption: it sets a Verifier's options, or those of
// an Evaluator's Verifiers.
type imageOption func(*options) error

func (f imageOption) applyToVerifier(o *options) error      { return f(o) }
func (f imageOption) applyToEvaluator(o *evalOptions) error { return f(&o.verifier) }

// identitiesOption is WithIdentities.
type identitiesOption []Identity

func (ids identitiesOption) applyToVerifier(o *options) error {
	o.identities = append(o.identities, ids...)
	return nil
}

func (ids identitiesOption) applyToBundle(o *bundleOptions) error {
	o.identities = append(o.identities, ids...)
	return nil
}

// maxBundleSizeOption is WithMaxBundleSize.
type maxBundleSizeOption int64

func (n maxBundleSizeOption) check() error {
	if n < 1 || n > registry.MaxBundleSize {
		return fmt.Errorf("%w: max bundle size %d is not between 1 and %d", hallmark.ErrInvalid, n, registry.MaxBundleSize)
	}
	return nil
}

func (n maxBundleSizeOption) applyToVerifier(o *options) error {
	if err := n.check(); err != nil {
		return err
	}
	o.maxBundleSize = int64(n)
	return nil
}

func (n maxBundleSizeOption) applyToEvaluator(o *evalOptions) error {
	return n.applyToVerifier(&o.verifier)
}

func (n maxBundleSizeOption) applyToBundle(o *bundleOptions) error {
	if err := n.check(); err != nil {
		return err
	}
	o.maxSize = int64(n)
	return nil
}

// WithIdentities adds signer identities; a bundle verifies only if its
// certificate matches at least one (see Identity for exact values and
// regular expressions). New requires at least one identity unless
// WithAnyIdentityUnsafe is given; VerifyBundle requires this option or
// WithBundleKey, which it excludes. The default is none.
func WithIdentities(ids ...Identity) SignerOption {
	return identitiesOption(ids)
}

// WithAnyIdentityUnsafe accepts bundles from any signer whose certificate
// chains to the trusted root's Fulcio. This is dangerous: anyone who can get
// a certificate from that Fulcio (for the public-good instance, anyone with
// an e-mail address) can then sign attestations that verify. Use it only to
// look at what an image carries, never to decide whether it may run. The
// default is to require WithIdentities.
func WithAnyIdentityUnsafe() Option {
	return verifierOption(func(o *options) error {
		o.anyIdentity = true
		return nil
	})
}

// WithoutTransparencyLogUnsafe accepts bundles without a transparency log
// entry even when the trusted root lists logs; a signed timestamp is then
// the only proof of when the signature was made, and nobody can audit that
// the certificate was used. Entries that are present are still verified.
// The default requires an entry from one of the trusted root's logs
// whenever it lists any.
func WithoutTransparencyLogUnsafe() ImageOption {
	return imageOption(func(o *options) error {
		o.noTlog = true
		return nil
	})
}

// WithRegistry sets the registry client that resolves images and reads
// their referrers and bundles: its credentials, insecure hosts, transport
// and retries. The default is a client with anonymous access and no
// insecure hosts.
func WithRegistry(c *registry.Client) ImageOption {
	return imageOption(func(o *options) error {
		if c == nil {
			return fmt.Errorf("%w: registry client is nil", hallmark.ErrInvalid)
		}
		o.registry = c
		return nil
	})
}

// WithLogger sets the logger for verification events; nil is an error
// (hallmark.ErrInvalid). The default discards log records.
func WithLogger(l *slog.Logger) ImageOption {
	return imageOption(func(o *options) error {
		return hallmark.SetLogger(&o.logger, l)
	})
}

// WithMaxBundles sets how many bundle referrers of one image a verification
// fetches and verifies, newest first; referrers skipped unfetched as
// superseded (see the package documentation, "How old bundles are
// treated") do not count, so an image rebuilt many times needs about one
// per predicate type and signer. For a Verifier, ImageResult.Omitted counts
// the referrers left once n were verified; for an Evaluator, an image that
// needs more verified is an error wrapping a *LimitError
// (hallmark.ErrTooLarge), since a verdict on some of its attestations could
// differ from one on all: referrers that do not verify count too, so junk
// can make an image an error, never allowed. It bounds the work an image
// with many referrers causes. The default is DefaultMaxBundles (32).
func WithMaxBundles(n int) ImageOption {
	return imageOption(func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: max bundles %d is below 1", hallmark.ErrInvalid, n)
		}
		o.maxBundles = n
		return nil
	})
}

// WithMaxBundleSize sets the largest bundle read, in bytes; a larger one is
// a failed attestation (an error for VerifyBundle). It cannot exceed
// registry.MaxBundleSize, the default.
func WithMaxBundleSize(n int64) LimitOption {
	return maxBundleSizeOption(n)
}
