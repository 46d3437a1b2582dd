package verify

import (
	"fmt"
	"log/slog"
	"regexp"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// Defaults of the options.
const (
	// DefaultMaxBundles is how many bundle referrers of one image Image
	// considers by default: the newest ones.
	DefaultMaxBundles = 32
	// parallelism bounds the bundles fetched and verified at once.
	parallelism = 4
)

// Identity is a signer a Verifier accepts: a Fulcio certificate's OIDC
// issuer (Issuer or IssuerRegexp) and subject alternative name
// (SubjectAlternativeName or SANRegexp). Each of the two needs an exact value,
// a regular expression, or both, in which case both must match. Regular
// expressions (Go RE2 syntax) must match the whole value: they are anchored,
// unlike cosign's --certificate-identity-regexp, so that
// "https://github.com/org/.*" cannot match a SAN that merely contains it.
type Identity struct {
	Issuer                 string
	SubjectAlternativeName string
	IssuerRegexp           string
	SANRegexp              string
}

// String describes the identity for messages.
func (id Identity) String() string {
	show := func(exact, re string) string {
		switch {
		case exact != "" && re != "":
			return exact + " (and ~" + re + ")"
		case re != "":
			return "~" + re
		}
		return exact
	}
	return show(id.SubjectAlternativeName, id.SANRegexp) + " from " + show(id.Issuer, id.IssuerRegexp)
}

// matcher is a compiled Identity.
type matcher struct {
	issuer, san     string
	issuerRE, sanRE *regexp.Regexp
}

func compileIdentity(id Identity) (matcher, error) {
	if id.Issuer == "" && id.IssuerRegexp == "" {
		return matcher{}, fmt.Errorf("%w: identity %s has no issuer or issuer regexp", hallmark.ErrInvalid, id)
	}
	if id.SubjectAlternativeName == "" && id.SANRegexp == "" {
		return matcher{}, fmt.Errorf("%w: identity %s has no subject alternative name or SAN regexp", hallmark.ErrInvalid, id)
	}
	m := matcher{issuer: id.Issuer, san: id.SubjectAlternativeName}
	var err error
	if m.issuerRE, err = anchored(id.IssuerRegexp); err != nil {
		return matcher{}, fmt.Errorf("%w: issuer regexp %q: %w", hallmark.ErrInvalid, id.IssuerRegexp, err)
	}
	if m.sanRE, err = anchored(id.SANRegexp); err != nil {
		return matcher{}, fmt.Errorf("%w: SAN regexp %q: %w", hallmark.ErrInvalid, id.SANRegexp, err)
	}
	return m, nil
}

func anchored(re string) (*regexp.Regexp, error) {
	if re == "" {
		return nil, nil
	}
	return regexp.Compile(`^(?:` + re + `)$`)
}

func (m matcher) match(issuer, san string) bool {
	return (m.issuer == "" || m.issuer == issuer) &&
		(m.issuerRE == nil || m.issuerRE.MatchString(issuer)) &&
		(m.san == "" || m.san == san) &&
		(m.sanRE == nil || m.sanRE.MatchString(san))
}

// Option configures a Verifier.
type Option func(*options) error

type options struct {
	identities    []Identity
	anyIdentity   bool
	noTlog        bool
	registry      *registry.Client
	logger        *slog.Logger
	maxBundles    int
	maxBundleSize int64
	eval          evalOptions
}

func defaultOptions() options {
	return options{
		logger:        slog.New(slog.DiscardHandler),
		maxBundles:    DefaultMaxBundles,
		maxBundleSize: registry.MaxBundleSize,
		eval:          defaultEvalOptions(),
	}
}

// WithIdentities adds signer identities; a bundle verifies only if its
// certificate matches at least one. New requires at least one identity
// unless WithAnyIdentityUnsafe is given. The default is none.
func WithIdentities(ids ...Identity) Option {
	return func(o *options) error {
		o.identities = append(o.identities, ids...)
		return nil
	}
}

// WithAnyIdentityUnsafe accepts bundles from any signer whose certificate
// chains to the trusted root's Fulcio. This is dangerous: anyone who can get
// a certificate from that Fulcio (for the public-good instance, anyone with
// an e-mail address) can then sign attestations that verify. Use it only to
// look at what an image carries, never to decide whether it may run. The
// default is to require WithIdentities.
func WithAnyIdentityUnsafe() Option {
	return func(o *options) error {
		o.anyIdentity = true
		return nil
	}
}

// WithoutTransparencyLogUnsafe accepts bundles without a transparency log
// entry even when the trusted root lists logs; a signed timestamp is then
// the only proof of when the signature was made, and nobody can audit that
// the certificate was used. Entries that are present are still verified.
// The default requires an entry from one of the trusted root's logs
// whenever it lists any.
func WithoutTransparencyLogUnsafe() Option {
	return func(o *options) error {
		o.noTlog = true
		return nil
	}
}

// WithRegistry sets the registry client that resolves images and reads
// their referrers and bundles: its credentials, insecure hosts, transport
// and retries. The default is a client with anonymous access and no
// insecure hosts.
func WithRegistry(c *registry.Client) Option {
	return func(o *options) error {
		if c == nil {
			return fmt.Errorf("%w: nil registry client", hallmark.ErrInvalid)
		}
		o.registry = c
		return nil
	}
}

// WithLogger sets the logger for verification events. The default discards
// log records.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", hallmark.ErrInvalid)
		}
		o.logger = l
		return nil
	}
}

// WithMaxBundles sets how many bundle referrers of one image are considered:
// the newest n; ImageResult.Omitted counts the rest. It bounds the work an
// image with many referrers causes. The default is DefaultMaxBundles (32).
func WithMaxBundles(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: max bundles %d is below 1", hallmark.ErrInvalid, n)
		}
		o.maxBundles = n
		return nil
	}
}

// WithMaxBundleSize sets the largest bundle read, in bytes; a larger one is
// a failed attestation. It cannot exceed registry.MaxBundleSize, the
// default.
func WithMaxBundleSize(n int64) Option {
	return func(o *options) error {
		if n < 1 || n > registry.MaxBundleSize {
			return fmt.Errorf("%w: max bundle size %d is not between 1 and %d", hallmark.ErrInvalid, n, registry.MaxBundleSize)
		}
		o.maxBundleSize = n
		return nil
	}
}
