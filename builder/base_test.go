package builder

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

func TestBuildBaseBadSpec(t *testing.T) {
	store, err := NewContextStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := New("unix:///nonexistent.sock", store, WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var events int
	_, err = b.BuildBase(t.Context(), hallmark.BaseRequest{ID: "base-1", Spec: []byte("apiVersion: hallmark.dev/v1\nkind: BaseImage\nmetadata: {name: x}\nspec: {packages: [Bad]}\n"),
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
		s, err := startStep(func(e hallmark.Event) error { got = append(got, e); return nil }, "[base 1/4] resolve")
		if err != nil {
			t.Fatal(err)
		}
		s.log("%d packages", 3)
		if err := s.done(tt.cause); !errors.Is(err, tt.cause) {
			t.Errorf("done(%v) = %v", tt.cause, err)
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
