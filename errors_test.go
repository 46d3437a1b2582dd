package hallmark

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestSentinels(t *testing.T) {
	want := []error{ErrInvalid, ErrNotFound, ErrTooLarge, ErrUnauthenticated, ErrPermissionDenied, ErrUnavailable, ErrBuildFailed, ErrCanceled}
	got := Sentinels()
	if len(got) != len(want) {
		t.Fatalf("Sentinels() = %v, want %v", got, want)
	}
	for i := range want {
		if !errors.Is(got[i], want[i]) {
			t.Errorf("Sentinels()[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	got[0] = nil
	if Sentinels()[0] == nil {
		t.Error("Sentinels returns the package's own slice")
	}
}

func TestClass(t *testing.T) {
	type test struct {
		name string
		err  error
		want error
	}
	var tests []test
	for _, s := range Sentinels() {
		tests = append(tests,
			test{name: s.Error(), err: s, want: s},
			test{name: s.Error() + " wrapped", err: fmt.Errorf("resolve base %q: %w: detail", "alpine", s), want: s},
			test{name: s.Error() + " joined", err: errors.Join(errors.New("other"), s), want: s},
		)
	}
	tests = append(tests,
		test{name: "nil", err: nil, want: nil},
		test{name: "context canceled", err: fmt.Errorf("solve: %w", context.Canceled), want: context.Canceled},
		test{name: "deadline exceeded", err: fmt.Errorf("solve: %w", context.DeadlineExceeded), want: context.DeadlineExceeded},
		test{
			name: "canceled because of a deadline",
			err:  fmt.Errorf("%w: left the queue: %w", ErrCanceled, fmt.Errorf("build took too long: %w", context.DeadlineExceeded)),
			want: context.DeadlineExceeded,
		},
		test{name: "unavailable because of a deadline", err: fmt.Errorf("%w: registry: %w", ErrUnavailable, context.DeadlineExceeded), want: ErrUnavailable},
		test{name: "canceled and context canceled", err: fmt.Errorf("%w: %w", ErrCanceled, context.Canceled), want: ErrCanceled},
		test{name: "the first class in order wins", err: fmt.Errorf("%w: %w", ErrBuildFailed, ErrInvalid), want: ErrInvalid},
		test{name: "unclassified", err: errors.New("open /var/lib/x: permission denied"), want: nil},
		test{name: "sentinel text without the sentinel", err: errors.New("invalid input: x"), want: nil},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Class(tt.err); !errors.Is(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("Class(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
