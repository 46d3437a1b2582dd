package sign

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/hallmark-dev/hallmark"
)

// Defaults of the options.
const (
	// DefaultTimeout bounds one Sign call: certificate, timestamps, log entry
	// and verification.
	DefaultTimeout = 60 * time.Second
	// DefaultRetries is how often a Fulcio or timestamp authority request is
	// retried after a 5xx or 429 answer.
	DefaultRetries = 1
	// MinCertificateValidity is how long a reused certificate must still be
	// valid for a new signature to use it.
	MinCertificateValidity = time.Minute
)

// Option configures a Signer.
type Option func(*options) error

type options struct {
	logger    *slog.Logger
	timeout   time.Duration
	reuse     time.Duration
	issuer    string
	san       string
	retries   uint
	transport http.RoundTripper
	now       func() time.Time
}

func defaultOptions() options {
	return options{
		logger:    slog.New(slog.DiscardHandler),
		timeout:   DefaultTimeout,
		retries:   DefaultRetries,
		transport: http.DefaultTransport,
		now:       time.Now,
	}
}

// WithLogger sets the logger for signing events (identity, log index,
// certificate requests and reuse); nil is an error (hallmark.ErrInvalid).
// Tokens are never logged. The default is to discard log records.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		return hallmark.SetLogger(&o.logger, l)
	}
}

// WithTimeout bounds each Sign call, including every request to Fulcio, the
// timestamp authorities and the transparency logs, and the verification of
// the result. A service that does not answer in time makes Sign fail with
// hallmark.ErrUnavailable. The default is DefaultTimeout (60s).
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: timeout %v is not positive", hallmark.ErrInvalid, d)
		}
		o.timeout = d
		return nil
	}
}

// WithCertificateReuse keeps the ephemeral key and its Fulcio certificate in
// memory after a signature and reuses them for later signatures for up to
// maxAge, as long as the certificate stays valid for at least
// MinCertificateValidity more. This saves a Fulcio round trip (and a token
// read) per statement; several bundles then carry the same certificate.
//
// The key lives longer in memory, and a Fulcio outage is noticed only when
// the cached certificate runs out, so reuse is opt-in. The default is no
// reuse: every signature gets a fresh key and certificate.
func WithCertificateReuse(maxAge time.Duration) Option {
	return func(o *options) error {
		if maxAge <= 0 {
			return fmt.Errorf("%w: certificate reuse age %v is not positive", hallmark.ErrInvalid, maxAge)
		}
		o.reuse = maxAge
		return nil
	}
}

// WithExpectedIdentity makes every bundle verify only if its certificate's
// subject alternative name is exactly san and its OIDC issuer extension is
// exactly issuer. The default is to take both from the first certificate
// Fulcio issues and then require them for the Signer's lifetime.
func WithExpectedIdentity(issuer, san string) Option {
	return func(o *options) error {
		if issuer == "" || san == "" {
			return fmt.Errorf("%w: expected identity needs both an issuer and a subject alternative name", hallmark.ErrInvalid)
		}
		o.issuer, o.san = issuer, san
		return nil
	}
}

// WithRetries sets how often a Fulcio or timestamp authority request is
// retried after a 5xx or 429 answer, with sigstore-go's exponential backoff
// (1s, 2s, …). Rekor v2 requests are not retried: a retried entry would be a
// second entry. The default is DefaultRetries (1).
func WithRetries(n uint) Option {
	return func(o *options) error {
		o.retries = n
		return nil
	}
}

// WithHTTPTransport sets the transport for requests to Fulcio, the timestamp
// authorities and Rekor v2 logs, e.g. one with a private CA or a proxy
// (Rekor v1 logs, if a signing config selects one, use sigstore-go's own
// client). The default is http.DefaultTransport.
func WithHTTPTransport(rt http.RoundTripper) Option {
	return func(o *options) error {
		if rt == nil {
			return fmt.Errorf("%w: nil transport", hallmark.ErrInvalid)
		}
		o.transport = rt
		return nil
	}
}
