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
	// DefaultMaxConfigSize bounds the image config a verification reads for
	// the policy's rules: real configs are a few KiB, rarely over 100 KiB.
	DefaultMaxConfigSize = 4 << 20
	// DefaultMaxConcurrent bounds the verifications that run at once. A
	// verification mostly waits on registries, so it is not tied to the
	// number of CPUs; the bound is on memory: each verification may hold
	// its manifests, referrers index, config and up to 4 bundles being
	// verified, so 16 of them stay within about a GiB whatever registries
	// send, on a machine of any size.
	DefaultMaxConcurrent = 16
)

// evalOptions configure an Evaluator.
type evalOptions struct {
	// verifier are the options of every policy's Verifier, but for the
	// identities, which come from the policy.
	verifier      options
	defaultPolicy string
	allowTTL      time.Duration
	denyTTL       time.Duration
	cacheSize     int
	verifyTimeout time.Duration
	maxConfigSize int64
	// configForRules reads an image's config only for rules (and a
	// platform asked for) that need it (WithConfigOnlyForRules).
	configForRules bool
	maxConcurrent  int
	observeSlots   func(waiting, running int64)
	vsaSigner      StatementSigner
	verifierID     string
	now            func() time.Time
}

// evaluatorOption is an EvaluatorOption only.
type evaluatorOption func(*evalOptions) error

func (f evaluatorOption) applyToEvaluator(o *evalOptions) error { return f(o) }

func defaultEvalOptions() evalOptions {
	return evalOptions{
		verifier:      defaultOptions(),
		allowTTL:      DefaultAllowTTL,
		denyTTL:       DefaultDenyTTL,
		cacheSize:     DefaultCacheSize,
		verifyTimeout: DefaultVerifyTimeout,
		maxConfigSize: DefaultMaxConfigSize,
		maxConcurrent: DefaultMaxConcurrent,
		now:           time.Now,
	}
}

// WithMaxConfigSize bounds the image config an Evaluator reads, in bytes;
// a larger config, declared or sent, is an error wrapping
// hallmark.ErrTooLarge before more than n bytes are held. The default is
// DefaultMaxConfigSize.
func WithMaxConfigSize(n int64) EvaluatorOption {
	return evaluatorOption(func(o *evalOptions) error {
		if n < 1 {
			return fmt.Errorf("%w: max config size %d is not positive", hallmark.ErrInvalid, n)
		}
		o.maxConfigSize = n
		return nil
	})
}

// WithConfigOnlyForRules makes an Evaluator read an image's config only
// when a rule of the policy reads the image variable, or a platform is
// asked for and the image is not an index: the config is then not part of
// a verdict's Input. It is for callers whose verdicts feed the policy's
// rules alone, such as a command line; one whose verdicts go further (the
// admission webhook's hygiene rules read the image's user from them)
// leaves it off. A verification reads one registry blob fewer.
func WithConfigOnlyForRules() EvaluatorOption {
	return evaluatorOption(func(o *evalOptions) error {
		o.configForRules = true
		return nil
	})
}

// WithMaxConcurrent bounds the verifications an Evaluator runs at once (a
// verification shared by concurrent requests for the same image counts
// once). A request whose verdict is not cached waits for a free slot until
// its context ends; cached verdicts never wait. The default is
// DefaultMaxConcurrent (16).
func WithMaxConcurrent(n int) EvaluatorOption {
	return evaluatorOption(func(o *evalOptions) error {
		if n < 1 {
			return fmt.Errorf("%w: max concurrent verifications %d is below 1", hallmark.ErrInvalid, n)
		}
		o.maxConcurrent = n
		return nil
	})
}

// WithConcurrencyObserver sets a function called, for metrics, whenever the
// number of verifications waiting for a slot or running changes
// (WithMaxConcurrent). Calls are made one at a time, in order, and must not
// block. The default is none.
func WithConcurrencyObserver(f func(waiting, running int64)) EvaluatorOption {
	return evaluatorOption(func(o *evalOptions) error {
		o.observeSlots = f
		return nil
	})
}

// WithDefaultPolicy names the policy an Evaluator uses when a request names
// none. The default is the first policy given to NewEvaluator.
func WithDefaultPolicy(name string) EvaluatorOption {
	return evaluatorOption(func(o *evalOptions) error {
		o.defaultPolicy = name
		return nil
	})
}

// WithVerdictTTL sets how long allowed and denied verdicts are cached; 0
// disables caching of that kind. Errors ("could not evaluate") are never
// cached. The default is DefaultAllowTTL (10m) and DefaultDenyTTL (1m).
func WithVerdictTTL(allow, deny time.Duration) EvaluatorOption {
	return evaluatorOption(func(o *evalOptions) error {
		if allow < 0 || deny < 0 {
			return fmt.Errorf("%w: negative verdict TTL", hallmark.ErrInvalid)
		}
		o.allowTTL, o.denyTTL = allow, deny
		return nil
	})
}

// WithVerdictCacheSize sets how many verdicts are kept; 0 disables the
// cache. The default is DefaultCacheSize (10000).
func WithVerdictCacheSize(n int) EvaluatorOption {
	return evaluatorOption(func(o *evalOptions) error {
		if n < 0 {
			return fmt.Errorf("%w: negative verdict cache size", hallmark.ErrInvalid)
		}
		o.cacheSize = n
		return nil
	})
}

// WithVerifyTimeout bounds one verification, wait for a free slot
// included, which concurrent requests for the same image and policy share:
// one caller giving up does not cancel it for the others, and it stops
// when the last one gives up. The default is DefaultVerifyTimeout (30s).
func WithVerifyTimeout(d time.Duration) EvaluatorOption {
	return evaluatorOption(func(o *evalOptions) error {
		if d <= 0 {
			return fmt.Errorf("%w: verify timeout %s is not positive", hallmark.ErrInvalid, d)
		}
		o.verifyTimeout = d
		return nil
	})
}

// WithVSASigner signs SLSA Verification Summary Attestations for allowed
// verdicts that ask for one, as verifier verifierID (the VSA's verifier.id,
// e.g. "https://hallmark.dev/verifiers/prod"). The default is no signer:
// requests for a VSA fail with hallmark.ErrUnavailable.
func WithVSASigner(s StatementSigner, verifierID string) EvaluatorOption {
	return evaluatorOption(func(o *evalOptions) error {
		if s == nil || verifierID == "" {
			return fmt.Errorf("%w: VSA signer needs a signer and a verifier id", hallmark.ErrInvalid)
		}
		o.vsaSigner, o.verifierID = s, verifierID
		return nil
	})
}

// WithClock sets the clock for verdict times and cache expiry. The default
// is time.Now.
func WithClock(now func() time.Time) EvaluatorOption {
	return evaluatorOption(func(o *evalOptions) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", hallmark.ErrInvalid)
		}
		o.now = now
		return nil
	})
}
