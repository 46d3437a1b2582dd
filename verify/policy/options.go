package policy

import (
	"fmt"
	"time"

	"github.com/hallmark-dev/hallmark"
)

// Defaults of the options.
const (
	// DefaultMaxBytes is the default size limit of a policy document.
	DefaultMaxBytes = 1 << 20
	// DefaultCostLimit is the default CEL cost limit of one rule evaluation.
	DefaultCostLimit = 1_000_000
	// DefaultRuleTimeout is the default deadline of one rule evaluation.
	DefaultRuleTimeout = time.Second
)

// Option configures Load and LoadFile.
type Option func(*options) error

type options struct {
	baseDir     string
	maxBytes    int64
	costLimit   uint64
	ruleTimeout time.Duration
}

func defaultOptions() options {
	return options{
		baseDir:     ".",
		maxBytes:    DefaultMaxBytes,
		costLimit:   DefaultCostLimit,
		ruleTimeout: DefaultRuleTimeout,
	}
}

func (o *options) apply(opts []Option) error {
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(o); err != nil {
			return err
		}
	}
	return nil
}

// WithBaseDir sets the directory a relative spec.trustedRoot is resolved
// against in Load. LoadFile always uses the policy file's directory. The
// default is the current directory.
func WithBaseDir(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return fmt.Errorf("policy option: %w: base directory is empty", hallmark.ErrInvalid)
		}
		o.baseDir = dir
		return nil
	}
}

// WithMaxBytes sets the size limit of a policy document; larger documents
// fail with hallmark.ErrTooLarge. The default is 1 MiB.
func WithMaxBytes(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("policy option: %w: max bytes %d is not positive", hallmark.ErrInvalid, n)
		}
		o.maxBytes = n
		return nil
	}
}

// WithCostLimit sets the CEL cost limit of one rule evaluation (cel-go's
// runtime cost units, roughly one per operation or list element visited); a
// rule over the limit fails. The default is 1,000,000.
func WithCostLimit(n uint64) Option {
	return func(o *options) error {
		if n == 0 {
			return fmt.Errorf("policy option: %w: cost limit is zero", hallmark.ErrInvalid)
		}
		o.costLimit = n
		return nil
	}
}

// WithRuleTimeout sets the deadline of one rule evaluation; a rule still
// running then fails. The default is one second.
func WithRuleTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("policy option: %w: rule timeout %v is not positive", hallmark.ErrInvalid, d)
		}
		o.ruleTimeout = d
		return nil
	}
}
