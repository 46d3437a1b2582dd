package basebuild

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

func newBuilder(t *testing.T) *Builder {
	t.Helper()
	reg, err := registry.New()
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(reg, WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNewRejects: a nil registry client or logger is an error.
func TestNewRejects(t *testing.T) {
	reg, err := registry.New()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		reg  *registry.Client
		opts []Option
	}{
		{name: "nil registry"},
		{name: "nil logger", reg: reg, opts: []Option{WithLogger(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := New(tt.reg, append([]Option{WithWorkDir(t.TempDir())}, tt.opts...)...)
			if !errors.Is(err, hallmark.ErrInvalid) || b != nil {
				t.Fatalf("New = %v, %v; want ErrInvalid", b, err)
			}
		})
	}
}

func TestBuildBaseBadSpec(t *testing.T) {
	b := newBuilder(t)
	var events int
	_, err := b.BuildBase(t.Context(), hallmark.BaseRequest{ID: "base-1", Spec: []byte("apiVersion: hallmark.dev/v1\nkind: BaseImage\nmetadata: {name: x}\nspec: {packages: [Bad]}\n"),
		Repository: "registry.example.com/acme/base", Tags: []string{"registry.example.com/acme/base:v1"}},
		func(hallmark.Event) error { events++; return nil })
	if !errors.Is(err, hallmark.ErrInvalid) || !strings.Contains(err.Error(), "spec.packages[0]") {
		t.Fatalf("error = %v, want ErrInvalid naming spec.packages[0]", err)
	}
	if events != 0 {
		t.Errorf("%d events before the spec was checked", events)
	}
}

func TestProgressStep(t *testing.T) {
	tests := []struct {
		cause error
		want  string
	}{
		{nil, ""},
		{fmt.Errorf("resolve packages: %w: apt-get: Unable to locate package x", hallmark.ErrInvalid), "resolve packages: invalid input: apt-get: Unable to locate package x"},
		{errors.New("open /var/secret/path: permission denied"), "failed; see the error that ends the build"},
	}
	for _, tt := range tests {
		var got []hallmark.Event
		s, err := hallmark.StartStep(func(e hallmark.Event) error { got = append(got, e); return nil }, "[base 1/4] resolve")
		if err != nil {
			t.Fatal(err)
		}
		s.Logf("%d packages", 3)
		if err := finish(s, tt.cause); !errors.Is(err, tt.cause) {
			t.Errorf("finish(%v) = %v", tt.cause, err)
		}
		if len(got) != 3 || string(got[1].Status.Logs[0].Data) != "3 packages\n" {
			t.Fatalf("events = %+v", got)
		}
		last := got[2].Status.Vertexes[0]
		if last.Completed == nil || last.Error != tt.want || last.Digest != got[0].Status.Vertexes[0].Digest {
			t.Errorf("completed vertex = %+v, want error %q", last, tt.want)
		}
	}
}

func TestFinish(t *testing.T) {
	errSend := errors.New("send: stream closed")
	cause := fmt.Errorf("%w: apt-get: Unable to locate package x", hallmark.ErrInvalid)
	tests := []struct {
		name   string
		cause  error
		failAt int // the send that fails, counting from 1; 0: none
		want   error
	}{
		{name: "success", want: nil},
		{name: "cause", cause: cause, want: cause},
		{name: "completion send fails", failAt: 3, want: errSend},
		{name: "log send fails", failAt: 2, want: errSend},
		{name: "cause and a failed send", cause: cause, failAt: 2, want: cause},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent := 0
			s, err := hallmark.StartStep(func(hallmark.Event) error {
				sent++
				if sent == tt.failAt {
					return errSend
				}
				return nil
			}, "[base 1/4] resolve")
			if err != nil {
				t.Fatal(err)
			}
			s.Logf("one line")
			if err := finish(s, tt.cause); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Errorf("finish(%v) = %v, want %v", tt.cause, err, tt.want)
			}
		})
	}
}
