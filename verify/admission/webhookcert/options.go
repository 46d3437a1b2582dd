package webhookcert

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Option configures a Manager.
type Option func(*options) error

type options struct {
	log         *slog.Logger
	now         func() time.Time
	interval    time.Duration
	lt          lifetimes
	validating  []string
	mutating    []string
	maxAttempts int
}

func defaultOptions() options {
	return options{
		log:         slog.New(slog.DiscardHandler),
		now:         time.Now,
		interval:    time.Hour,
		lt:          lifetimes{ca: 365 * 24 * time.Hour, serving: 90 * 24 * time.Hour},
		maxAttempts: 5,
	}
}

// WithLogger logs rotations at info and failed syncs at warn. The default
// discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.log = l
		return nil
	}
}

// WithClock makes the Manager read the time from now: for tests that step
// through a rotation. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("nil clock")
		}
		o.now = now
		return nil
	}
}

// WithInterval is how often Run syncs. The default is 1h.
func WithInterval(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("interval %s is not positive", d)
		}
		o.interval = d
		return nil
	}
}

// WithLifetimes sets the lifetimes of a new CA and of a new serving
// certificate; the serving certificate's must be at most a third of the
// CA's, so that it is renewed before the CA is. The default is 8760h (a
// year) and 2160h (90 days).
func WithLifetimes(ca, serving time.Duration) Option {
	return func(o *options) error {
		if serving <= 0 || ca < 3*serving {
			return fmt.Errorf("lifetimes: the serving certificate's %s must be positive and at most a third of the CA's %s", serving, ca)
		}
		o.lt.ca, o.lt.serving = ca, serving
		return nil
	}
}

// WithPropagationDelay is how long a new CA is published in the caBundle
// before it signs the serving certificate, and how long a new serving
// certificate is in the Secret before the old CA leaves the caBundle: long
// enough for every replica to sync (and to patch the caBundle, should the
// replica that rotated have failed to). It must be below a third of the
// serving certificate's lifetime. The default is twice the interval.
func WithPropagationDelay(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("propagation delay %s is not positive", d)
		}
		o.lt.propagation = d
		return nil
	}
}

// WithValidatingWebhookConfigurations names the
// ValidatingWebhookConfigurations whose webhooks get the CA as caBundle.
// The default is none.
func WithValidatingWebhookConfigurations(names ...string) Option {
	return func(o *options) error {
		o.validating = append(o.validating, names...)
		return nil
	}
}

// WithMutatingWebhookConfigurations names the
// MutatingWebhookConfigurations whose webhooks get the CA as caBundle. The
// default is none.
func WithMutatingWebhookConfigurations(names ...string) Option {
	return func(o *options) error {
		o.mutating = append(o.mutating, names...)
		return nil
	}
}
