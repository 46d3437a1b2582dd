package main

import (
	"bytes"
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
			cmd := newVersionCmd()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(append([]string{}, tt.args...))
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.ExecuteContext(t.Context())
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			line := out.String()
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
