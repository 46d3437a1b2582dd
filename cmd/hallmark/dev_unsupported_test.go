package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestUnsupportedDev(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"bare", nil},
		{"up", []string{"up"}},
		{"up with flags", []string{"up", "--detach", "--kubernetes"}},
		{"persistent flag", []string{"--dir", "x", "token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := newUnsupportedDevCmd("darwin")
			var stderr bytes.Buffer
			cmd.SetErr(&stderr)
			cmd.SetOut(&stderr)
			cmd.SetArgs(append([]string{}, tt.args...))
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.ExecuteContext(t.Context())
			var ee exitError
			if !errors.As(err, &ee) || ee.code != exitCannotTell {
				t.Fatalf("err = %v, want exit 2", err)
			}
			if !strings.HasPrefix(stderr.String(), "hallmark dev: runs on Linux only, not on darwin: ") {
				t.Errorf("stderr = %q", stderr.String())
			}
		})
	}
}
