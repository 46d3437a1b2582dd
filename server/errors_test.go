package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers, for logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sentinelCodes is every sentinel of the root package with its code.
var sentinelCodes = []struct {
	err  error
	code connect.Code
}{
	{hallmark.ErrInvalid, connect.CodeInvalidArgument},
	{hallmark.ErrNotFound, connect.CodeNotFound},
	{hallmark.ErrTooLarge, connect.CodeResourceExhausted},
	{hallmark.ErrUnauthenticated, connect.CodeUnauthenticated},
	{hallmark.ErrPermissionDenied, connect.CodePermissionDenied},
	{hallmark.ErrUnavailable, connect.CodeUnavailable},
	{hallmark.ErrBuildFailed, connect.CodeFailedPrecondition},
	{hallmark.ErrCanceled, connect.CodeCanceled},
}

func TestSentinelsAreAllMapped(t *testing.T) {
	// publicError's list and this test's list must both hold every sentinel.
	if len(sentinels) != len(sentinelCodes) {
		t.Fatalf("server knows %d sentinels, the test %d", len(sentinels), len(sentinelCodes))
	}
	for i, s := range sentinelCodes {
		if !errors.Is(sentinels[i], s.err) {
			t.Errorf("sentinels[%d] = %q, want %q", i, sentinels[i], s.err)
		}
	}
}

func TestEveryClassHasACode(t *testing.T) {
	classes := append(hallmark.Sentinels(), context.DeadlineExceeded, context.Canceled)
	for _, c := range classes {
		if _, ok := codes[c]; !ok {
			t.Errorf("class %q has no Connect code", c)
		}
	}
	if len(codes) != len(classes) {
		t.Errorf("codes has %d entries, want one per class (%d)", len(codes), len(classes))
	}
}

func TestClassify(t *testing.T) {
	type test struct {
		name     string
		err      error
		wantCode connect.Code
		wantOK   bool
	}
	var tests []test
	for _, s := range sentinelCodes {
		tests = append(tests,
			test{name: s.err.Error(), err: s.err, wantCode: s.code, wantOK: true},
			test{name: s.err.Error() + " wrapped", err: fmt.Errorf("resolve base %q: %w: detail", "alpine", s.err), wantCode: s.code, wantOK: true},
			test{name: s.err.Error() + " joined", err: errors.Join(errors.New("other"), s.err), wantCode: s.code, wantOK: true},
		)
	}
	tests = append(tests,
		test{name: "context canceled", err: fmt.Errorf("solve: %w", context.Canceled), wantCode: connect.CodeCanceled, wantOK: true},
		test{name: "deadline exceeded", err: fmt.Errorf("solve: %w", context.DeadlineExceeded), wantCode: connect.CodeDeadlineExceeded, wantOK: true},
		test{
			name:     "canceled because of a deadline",
			err:      fmt.Errorf("%w: left the queue: %w", hallmark.ErrCanceled, fmt.Errorf("build took too long: %w", context.DeadlineExceeded)),
			wantCode: connect.CodeDeadlineExceeded, wantOK: true,
		},
		test{
			name:     "unavailable because of a deadline",
			err:      fmt.Errorf("%w: registry: %w", hallmark.ErrUnavailable, context.DeadlineExceeded),
			wantCode: connect.CodeUnavailable, wantOK: true,
		},
		test{name: "unclassified", err: errors.New("open /var/lib/x: permission denied"), wantCode: connect.CodeUnknown},
		test{name: "sentinel text without the sentinel", err: errors.New("invalid input: x"), wantCode: connect.CodeUnknown},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, ok := classify(tt.err)
			if code != tt.wantCode || ok != tt.wantOK {
				t.Errorf("classify(%q) = %v, %v; want %v, %v", tt.err, code, ok, tt.wantCode, tt.wantOK)
			}
		})
	}
}

func TestPublicError(t *testing.T) {
	for _, s := range sentinelCodes {
		t.Run(s.err.Error(), func(t *testing.T) {
			err := fmt.Errorf("%w: tags[1]: %q differs", s.err, "x")
			ce := publicError(s.code, err)
			if ce.Code() != s.code {
				t.Errorf("code = %v, want %v", ce.Code(), s.code)
			}
			if got, want := ce.Message(), `tags[1]: "x" differs`; got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
		})
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "only the leading sentinel", err: fmt.Errorf("%w: %w: x", hallmark.ErrInvalid, hallmark.ErrNotFound), want: "not found: x"},
		{name: "a sentinel inside is kept", err: fmt.Errorf("store context: %w: x", hallmark.ErrInvalid), want: "store context: invalid input: x"},
		{name: "no sentinel", err: errors.New("plain"), want: "plain"},
		{name: "a bare sentinel", err: hallmark.ErrNotFound, want: "not found"},
		{name: "a prefix of a word", err: errors.New("not foundation: x"), want: "not foundation: x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := publicError(connect.CodeInvalidArgument, tt.err).Message(); got != tt.want {
				t.Errorf("message = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConnectError(t *testing.T) {
	const requestID = "0123abcd4567ef89"
	ctx := context.WithValue(t.Context(), requestIDKey{}, requestID)

	t.Run("nil", func(t *testing.T) {
		if err := connectError(ctx, slog.New(slog.DiscardHandler), nil); err != nil {
			t.Errorf("connectError(nil) = %v", err)
		}
	})

	for _, s := range sentinelCodes {
		t.Run(s.err.Error(), func(t *testing.T) {
			var logs syncBuffer
			err := connectError(ctx, slog.New(requestIDHandler{slog.NewJSONHandler(&logs, nil)}), fmt.Errorf("%w: context %s was not uploaded", s.err, testDigest))
			if got := connect.CodeOf(err); got != s.code {
				t.Errorf("code = %v, want %v", got, s.code)
			}
			var ce *connect.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *connect.Error", err)
			}
			if want := "context " + testDigest + " was not uploaded"; ce.Message() != want {
				t.Errorf("message = %q, want %q", ce.Message(), want)
			}
			if l := logs.String(); !strings.Contains(l, `"request_id":"`+requestID+`"`) || !strings.Contains(l, `"code":"`+s.code.String()+`"`) {
				t.Errorf("log %s lacks the request id or code", l)
			}
		})
	}

	t.Run("unclassified", func(t *testing.T) {
		var logs syncBuffer
		const cause = "dial tcp 10.1.2.3:1234: connect: connection refused by buildkit-internal"
		err := connectError(ctx, slog.New(requestIDHandler{slog.NewJSONHandler(&logs, nil)}), fmt.Errorf("solve: %w", errors.New(cause)))
		var ce *connect.Error
		if !errors.As(err, &ce) {
			t.Fatalf("error %T is not a *connect.Error", err)
		}
		if ce.Code() != connect.CodeInternal {
			t.Errorf("code = %v, want internal", ce.Code())
		}
		if strings.Contains(ce.Message(), "10.1.2.3") || strings.Contains(ce.Message(), "solve") || strings.Contains(ce.Message(), "buildkit-internal") {
			t.Errorf("message %q leaks the internal cause", ce.Message())
		}
		if !strings.Contains(ce.Message(), requestID) {
			t.Errorf("message %q does not name request id %s", ce.Message(), requestID)
		}
		l := logs.String()
		if !strings.Contains(l, cause) || !strings.Contains(l, `"request_id":"`+requestID+`"`) || !strings.Contains(l, `"level":"ERROR"`) {
			t.Errorf("log %s lacks the cause, the request id or level ERROR", l)
		}
	})

	t.Run("connect error passes through", func(t *testing.T) {
		in := connect.NewError(connect.CodeResourceExhausted, errors.New("message is larger than configured max 1048576"))
		err := connectError(ctx, slog.New(slog.DiscardHandler), fmt.Errorf("receive upload: %w", in))
		if ce, ok := errors.AsType[*connect.Error](err); !ok || ce != in {
			t.Errorf("connectError = %v, want the wrapped connect error %v", err, in)
		}
	})

	t.Run("context errors", func(t *testing.T) {
		for in, want := range map[error]connect.Code{
			context.Canceled:         connect.CodeCanceled,
			context.DeadlineExceeded: connect.CodeDeadlineExceeded,
		} {
			if got := connect.CodeOf(connectError(ctx, slog.New(slog.DiscardHandler), fmt.Errorf("wait: %w", in))); got != want {
				t.Errorf("connectError(%v) code = %v, want %v", in, got, want)
			}
		}
	})
}
