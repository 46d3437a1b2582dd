package hallmark

import "errors"

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
