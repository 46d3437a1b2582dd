package main

import (
	"runtime"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/version"
)

func TestVersionCommand(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"plain", nil, false},
		{"extra argument", []string{"x"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := executeSilenced(t.Context(), newVersionCmd(), tt.args...)
			if (r.err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", r.err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			line := r.stdout + r.stderr
			if line != versionLine(version.Get())+"\n" || !strings.HasPrefix(line, "hallmark ") || !strings.Contains(line, runtime.Version()) {
				t.Errorf("output %q", line)
			}
		})
	}
}

func TestVersionLine(t *testing.T) {
	i := version.Info{Version: "v1.2.0", Revision: "abc", Modified: true, GoVersion: "go1.26.8", BuildKit: "v0.34.2"}
	if got, want := versionLine(i), "hallmark v1.2.0 (revision abc, modified), go1.26.8, buildkit v0.34.2"; got != want {
		t.Errorf("versionLine = %q, want %q", got, want)
	}
}
