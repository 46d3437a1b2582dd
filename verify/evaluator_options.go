package verify

import (
	"fmt"
	"time"

	"github.com/hallmark-dev/hallmark"
)

// Defaults of the Evaluator's options.
const (
	// DefaultAllowTTL is how long an allowed verdict is cached.
	DefaultAllowTTL = 10 * time.Minute
	// DefaultDenyTTL is how long a definite denial is cached: shorter, so
	// that an image whose attestations arrive late is admitted soon.
	DefaultDenyTTL = time.Minute
	// DefaultCacheSize is how many verdicts are cached.
	DefaultCacheSize = 10000
	// DefaultVerifyTimeout bounds one verification shared by concurrent
	// requests for the same image and policy.
	DefaultVerifyTimeout = 30 * time.Second
)

// evalOptions configure an Evaluator; they live in options so one Option
// type serves Verifier and Evaluator.
type evalOptions struct {
	defaultPolicy string
	allowTTL      time.Duration
	denyTTL       time.Duration
	cacheSize     int
	verifyTimeout time.Duration
	vsaSigner     StatementSigner
	verifierID    string
	now           func() time.Time
}

func defaultEvalOptions() evalOptions {
	return evalOptions{
		allowTTL:      DefaultAllowTTL,
		denyTTL:       DefaultDenyTTL,
		cacheSize:     DefaultCacheSize,
		verifyTimeout: DefaultVerifyTimeout,
		now:           time.Now,
	}
}

// WithDefaultPolicy names the policy an Evaluator uses when a request names
// none. The default is the first policy given to NewEvaluator.
func WithDefaultPolicy(name string) Option {
	return func(o *options) error {
		o.eval.defaultPolicy = name
		return nil
	}
}

// WithVerdictTTL sets how long allowed and denied verdicts are cached; 0
// disables caching of that kind. Errors ("could not evaluate") are never
// cached. The default is DefaultAllowTTL (10m) and DefaultDenyTTL (1m).
func WithVerdictTTL(allow, deny time.Duration) Option {
	return func(o *options) error {
		if allow < 0 || deny < 0 {
			return fmt.Errorf("%w: negative verdict TTL", hallmark.ErrInvalid)
		}
		o.eval.allowTTL, o.eval.denyTTL = allow, deny
		return nil
	}
}

// WithVerdictCacheSize sets how many verdicts are kept; 0 disables the
// cache. The default is DefaultCacheSize (10000).
func WithVerdictCacheSize(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("%w: negative verdict cache size", hallmark.ErrInvalid)
		}
		o.eval.cacheSize = n
		return nil
	}
}

// WithVerifyTimeout bounds one verification, which concurrent requests for
// the same image and policy share (so one caller giving up does not cancel
// it for the others). The default is DefaultVerifyTimeout (30s).
func WithVerifyTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: verify timeout %s is not positive", hallmark.ErrInvalid, d)
		}
		o.eval.verifyTimeout = d
		return nil
	}
}

// WithVSASigner signs SLSA Verification Summary Attestations for allowed
// verdicts that ask for one, as verifier verifierID (the VSA's verifier.id,
// e.g. "https://hallmark.dev/verifiers/prod"). The default is no signer:
// requests for a VSA fail with hallmark.ErrUnavailable.
func WithVSASigner(s StatementSigner, verifierID string) Option {
	return func(o *options) error {
		if s == nil || verifierID == "" {
			return fmt.Errorf("%w: VSA signer needs a signer and a verifier id", hallmark.ErrInvalid)
		}
		o.eval.vsaSigner, o.eval.verifierID = s, verifierID
		return nil
	}
}

// WithClock sets the clock for verdict times and cache expiry. The default
// is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", hallmark.ErrInvalid)
		}
		o.eval.now = now
		return nil
	}
}
