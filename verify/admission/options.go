package admission

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/hallmark-dev/hallmark"
)

// Defaults of the options.
const (
	// DefaultTimeout bounds the verification of all images of one review.
	// It is below the Kubernetes default webhook timeout (10s) so that the
	// webhook answers, with a denial, before the API server gives up on it
	// and applies the configuration's failurePolicy instead.
	DefaultTimeout = 8 * time.Second
	// DefaultMaxBodyBytes bounds an AdmissionReview request body: objects
	// stored by Kubernetes are limited to about 3 MiB.
	DefaultMaxBodyBytes = 3 << 20
	// DefaultParallelism bounds the images of one review verified at once.
	DefaultParallelism = 8
)

// Option configures a Webhook.
type Option func(*options) error

type options struct {
	logger       *slog.Logger
	timeout      time.Duration
	maxBodyBytes int64
	parallelism  int
	decisions    func(Decision)
}

func defaultOptions() options {
	return options{
		logger:       slog.New(slog.DiscardHandler),
		timeout:      DefaultTimeout,
		maxBodyBytes: DefaultMaxBodyBytes,
		parallelism:  DefaultParallelism,
	}
}

// WithLogger sets the logger for admission decisions (one record per
// review; environment variable values are never logged); nil is an error
// (hallmark.ErrInvalid). The default discards log records.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		return hallmark.SetLogger(&o.logger, l)
	}
}

// WithTimeout sets the deadline for verifying all images of one review; an
// image not verified by then denies the review as "could not verify". Keep
// it below the webhook configuration's timeoutSeconds. The default is
// DefaultTimeout (8s).
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: timeout %s is not positive", hallmark.ErrInvalid, d)
		}
		o.timeout = d
		return nil
	}
}

// WithMaxBodyBytes sets the largest AdmissionReview request body read; a
// larger one is answered with 413. The default is DefaultMaxBodyBytes
// (3 MiB).
func WithMaxBodyBytes(n int64) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: max body bytes %d is below 1", hallmark.ErrInvalid, n)
		}
		o.maxBodyBytes = n
		return nil
	}
}

// WithParallelism sets how many distinct images of one review are verified
// at once. The default is DefaultParallelism (8).
func WithParallelism(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: parallelism %d is below 1", hallmark.ErrInvalid, n)
		}
		o.parallelism = n
		return nil
	}
}

// WithDecisions calls record after every review that verified images,
// once per distinct image, for an audit log. record must not block: the
// API server waits for the review. The default records nothing.
func WithDecisions(record func(Decision)) Option {
	return func(o *options) error { o.decisions = record; return nil }
}
