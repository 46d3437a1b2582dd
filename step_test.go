package hallmark

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// recorder collects the events of a step; sends fail from the failAt-th
// one on (counting from 1), or never when failAt is 0.
type recorder struct {
	events []Event
	failAt int
}

var errSend = errors.New("send: stream closed")

func (r *recorder) emit(e Event) error {
	if r.failAt > 0 && len(r.events)+1 >= r.failAt {
		return errSend
	}
	r.events = append(r.events, e)
	return nil
}

func TestStep(t *testing.T) {
	const secret = "open /var/secret/path: permission denied"
	tests := []struct {
		name      string
		cause     error
		failAt    int
		wantErr   error  // what Done returns
		wantError string // the completed vertex's error text
		wantSent  int    // events sent: start, log, completion
	}{
		{name: "success", wantSent: 3},
		{
			name: "classified cause", cause: fmt.Errorf("resolve packages: %w: apt-get: Unable to locate package x", ErrInvalid),
			wantError: "resolve packages: invalid input: apt-get: Unable to locate package x", wantSent: 3,
		},
		{
			name: "unauthenticated cause", cause: fmt.Errorf("attest: %w: token expired", ErrUnauthenticated),
			wantError: "attest: unauthenticated: token expired", wantSent: 3,
		},
		{name: "deadline", cause: fmt.Errorf("sign: %w", context.DeadlineExceeded), wantError: "sign: context deadline exceeded", wantSent: 3},
		{name: "internal cause", cause: fmt.Errorf("attest: %w", errors.New(secret)), wantError: stepFailed, wantSent: 3},
		{name: "log send fails", failAt: 2, wantErr: errSend, wantSent: 1},
		{name: "log send fails, with a cause", cause: fmt.Errorf("%w: x", ErrInvalid), failAt: 2, wantErr: errSend, wantSent: 1},
		{name: "completion send fails", cause: errors.New(secret), failAt: 4, wantErr: errSend, wantSent: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{failAt: tt.failAt}
			s, err := StartStep(r.emit, "[hallmark] attest")
			if err != nil {
				t.Fatalf("StartStep: %v", err)
			}
			s.Logf("%d packages", 3)
			s.Logf("dropped after a failed send, else sent")
			err = s.Done(tt.cause)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("Done(%v) = %v, want %v", tt.cause, err, tt.wantErr)
			}
			if tt.wantErr == nil {
				tt.wantSent++ // the second line
			}
			if len(r.events) != tt.wantSent {
				t.Fatalf("sent %d events, want %d: %+v", len(r.events), tt.wantSent, r.events)
			}
			start := r.events[0].Status.Vertexes[0]
			if start.Name != "[hallmark] attest" || start.Started == nil || start.Completed != nil || !strings.HasPrefix(start.Digest, "sha256:") {
				t.Errorf("start vertex = %+v", start)
			}
			if len(r.events) > 1 {
				if l := r.events[1].Status.Logs[0]; string(l.Data) != "3 packages\n" || l.Vertex != start.Digest || l.Stream != 1 {
					t.Errorf("log = %+v, want one line of the step's vertex", l)
				}
			}
			if tt.wantErr != nil {
				return
			}
			last := r.events[len(r.events)-1].Status.Vertexes[0]
			if last.Digest != start.Digest || last.Name != start.Name || last.Started == nil || last.Completed == nil || last.Error != tt.wantError {
				t.Errorf("completed vertex = %+v, want error %q", last, tt.wantError)
			}
			for _, e := range r.events {
				for _, v := range e.Status.Vertexes {
					if strings.Contains(v.Error, secret) {
						t.Errorf("vertex error %q leaks the internal cause", v.Error)
					}
				}
			}
		})
	}
}

func TestStepStartFails(t *testing.T) {
	r := &recorder{failAt: 1}
	if _, err := StartStep(r.emit, "x"); !errors.Is(err, errSend) {
		t.Errorf("StartStep = %v, want the send error", err)
	}
}
