package server

import (
	"context"
	"errors"
	"log/slog"

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
	return connect.NewError(code, err)
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
	case errors.Is(err, hallmark.ErrCanceled), errors.Is(err, context.Canceled):
		return connect.CodeCanceled, true
	case errors.Is(err, context.DeadlineExceeded):
		return connect.CodeDeadlineExceeded, true
	}
	return connect.CodeUnknown, false
}
