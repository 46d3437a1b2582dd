package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/version"
)

func TestVersionFlag(t *testing.T) {
	for _, flag := range []string{"--version", "-version"} {
		t.Run(flag, func(t *testing.T) {
			t.Setenv("HALLMARKD_CONFIG", "/nonexistent/config.yaml") // never read
			var out bytes.Buffer
			if err := run([]string{flag}, &out); err != nil {
				t.Fatalf("run: %v", err)
			}
			want := "hallmarkd " + version.Get().String() + "\n"
			if out.String() != want || !strings.Contains(out.String(), runtime.Version()) {
				t.Errorf("output %q, want %q", out.String(), want)
			}
		})
	}
}
