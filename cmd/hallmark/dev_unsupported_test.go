package main

import (
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
			r := executeSilenced(t.Context(), newUnsupportedDevCmd("darwin"), tt.args...)
			if code := exitOf(t, r.err); code != exitCannotTell {
				t.Fatalf("exit %d (%v), want exit 2", code, r.err)
			}
			if !strings.HasPrefix(r.stderr, "hallmark dev: runs on Linux only, not on darwin: ") || r.stdout != "" {
				t.Errorf("stdout = %q, stderr = %q", r.stdout, r.stderr)
			}
		})
	}
}
