package hallmark

import (
	"context"
	"errors"
)

// Sentinel errors classify failures. Packages wrap them with context
// (fmt.Errorf("parse dockerfile: %w: line 3: ...", ErrInvalid)); the server
// maps each class to one Connect code and sends the message, while
// unclassified errors are logged and reported only as internal.
var (
	// ErrInvalid marks input that can never succeed as given: a malformed
	// field, a Dockerfile syntax error, an unsafe tar entry.
	ErrInvalid = errors.New("invalid input")
	// ErrNotFound marks a named thing that does not exist: an unknown context
	// digest, a base image missing from its registry.
	ErrNotFound = errors.New("not found")
	// ErrTooLarge marks input over a configured size limit.
	ErrTooLarge = errors.New("too large")
	// ErrUnauthenticated marks a missing or invalid caller credential.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrPermissionDenied marks a valid caller asking for something its
	// identity may not do.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrUnavailable marks a dependency (BuildKit, a registry) that could not
	// be reached; retrying later may succeed.
	ErrUnavailable = errors.New("unavailable")
	// ErrBuildFailed marks a build that ran and failed because of its own
	// definition, such as a RUN step exiting non-zero.
	ErrBuildFailed = errors.New("build failed")
	// ErrCanceled marks work stopped because the caller went away.
	ErrCanceled = errors.New("canceled")
)

// classes are the error classes in the order Class tries them: the
// sentinels as declared above, with context.DeadlineExceeded before
// ErrCanceled (work stopped by a deadline wraps both, and the deadline says
// more) and context.Canceled last.
var classes = []error{
	ErrInvalid, ErrNotFound, ErrTooLarge, ErrUnauthenticated, ErrPermissionDenied,
	ErrUnavailable, ErrBuildFailed, context.DeadlineExceeded, ErrCanceled, context.Canceled,
}

// Sentinels returns the sentinel errors of this package, in the order Class
// tries them.
func Sentinels() []error {
	out := make([]error, 0, len(classes))
	for _, c := range classes {
		if !errors.Is(c, context.DeadlineExceeded) && !errors.Is(c, context.Canceled) {
			out = append(out, c)
		}
	}
	return out
}

// Class returns the class of err: the first of the sentinel errors,
// context.DeadlineExceeded and context.Canceled that err wraps, in the order
// Sentinels gives with context.DeadlineExceeded just before ErrCanceled and
// context.Canceled last. A classified error's message is written for the
// caller. Class returns nil for an unclassified error: its message is an
// internal cause, which only logs may see.
func Class(err error) error {
	if err == nil {
		return nil
	}
	for _, c := range classes {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}
