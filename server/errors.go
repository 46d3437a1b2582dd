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
var sentinels = hallmark.Sentinels()

// publicError is the error a caller sees: code plus err's message without a
// leading sentinel ("invalid input: "), which would repeat the code.
func publicError(code connect.Code, err error) *connect.Error {
	return connect.NewError(code, errors.New(publicMessage(err)))
}

// publicMessage is err's message without a leading sentinel.
func publicMessage(err error) string {
	msg := err.Error()
	for _, s := range sentinels {
		if rest, ok := strings.CutPrefix(msg, s.Error()+": "); ok {
			return rest
		}
	}
	return msg
}

// codes maps every error class (hallmark.Class) to its Connect code.
var codes = map[error]connect.Code{
	hallmark.ErrInvalid:          connect.CodeInvalidArgument,
	hallmark.ErrNotFound:         connect.CodeNotFound,
	hallmark.ErrTooLarge:         connect.CodeResourceExhausted,
	hallmark.ErrUnauthenticated:  connect.CodeUnauthenticated,
	hallmark.ErrPermissionDenied: connect.CodePermissionDenied,
	hallmark.ErrUnavailable:      connect.CodeUnavailable,
	hallmark.ErrBuildFailed:      connect.CodeFailedPrecondition,
	// Work stopped by a deadline (the gateway's build timeout or the
	// caller's) wraps both context.DeadlineExceeded and often ErrCanceled:
	// hallmark.Class reports the deadline.
	context.DeadlineExceeded: connect.CodeDeadlineExceeded,
	hallmark.ErrCanceled:     connect.CodeCanceled,
	context.Canceled:         connect.CodeCanceled,
}

// classify returns err's Connect code, and whether err is classified: only
// a classified error's message may reach the caller.
func classify(err error) (connect.Code, bool) {
	code, ok := codes[hallmark.Class(err)]
	if !ok {
		return connect.CodeUnknown, false
	}
	return code, true
}
