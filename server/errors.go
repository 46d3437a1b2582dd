package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
)

// connectError is the one place where domain errors become Connect codes.
// Classified errors carry a message written for the caller; anything else is
// logged with the request id and reported only as internal, so internal
// causes never leak.
func connectError(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	code, ok := classify(err)
	if !ok {
		log.ErrorContext(ctx, "internal error", "error", err)
		return connect.NewError(connect.CodeInternal, errors.New("internal error; the gateway logged the cause under request id "+RequestID(ctx)))
	}
	log.InfoContext(ctx, "request failed", "code", code.String(), "error", err)
	return publicError(code, err)
}

// sentinels are the error classes whose text publicError drops, since the
// Connect code already says it.
var sentinels = []error{
	hallmark.ErrInvalid, hallmark.ErrNotFound, hallmark.ErrTooLarge, hallmark.ErrUnauthenticated,
	hallmark.ErrPermissionDenied, hallmark.ErrUnavailable, hallmark.ErrBuildFailed, hallmark.ErrCanceled,
}

// publicError is the error a caller sees: code plus err's message without a
// leading sentinel ("invalid input: "), which would repeat the code.
func publicError(code connect.Code, err error) *connect.Error {
	msg := err.Error()
	for _, s := range sentinels {
		if rest, ok := strings.CutPrefix(msg, s.Error()+": "); ok {
			msg = rest
			break
		}
	}
	return connect.NewError(code, errors.New(msg))
}

func classify(err error) (connect.Code, bool) {
	switch {
	case errors.Is(err, hallmark.ErrInvalid):
		return connect.CodeInvalidArgument, true
	case errors.Is(err, hallmark.ErrNotFound):
		return connect.CodeNotFound, true
	case errors.Is(err, hallmark.ErrTooLarge):
		return connect.CodeResourceExhausted, true
	case errors.Is(err, hallmark.ErrUnauthenticated):
		return connect.CodeUnauthenticated, true
	case errors.Is(err, hallmark.ErrPermissionDenied):
		return connect.CodePermissionDenied, true
	case errors.Is(err, hallmark.ErrUnavailable):
		return connect.CodeUnavailable, true
	case errors.Is(err, hallmark.ErrBuildFailed):
		return connect.CodeFailedPrecondition, true
	case errors.Is(err, context.DeadlineExceeded):
		// Before ErrCanceled: work stopped by a deadline (the gateway's build
		// timeout or the caller's) wraps both.
		return connect.CodeDeadlineExceeded, true
	case errors.Is(err, hallmark.ErrCanceled), errors.Is(err, context.Canceled):
		return connect.CodeCanceled, true
	}
	return connect.CodeUnknown, false
}
