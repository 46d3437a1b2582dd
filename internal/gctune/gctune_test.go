package gctune

import (
	"runtime/debug"
	"testing"
)

func TestTune(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) })
	for _, tt := range []struct {
		env          map[string]string
		wantPercent  int
		wantLimitSet bool
	}{
		{map[string]string{}, 400, true},
		{map[string]string{"GOGC": "100", "GOMEMLIMIT": "2GiB"}, 100, false},
	} {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(1 << 40)
		Tune(func(k string) string { return tt.env[k] })
		if got := debug.SetGCPercent(100); got != tt.wantPercent {
			t.Errorf("env %v: GC percent %d, want %d", tt.env, got, tt.wantPercent)
		}
		if got := debug.SetMemoryLimit(-1); (got == 1<<30) != tt.wantLimitSet {
			t.Errorf("env %v: memory limit %d, set to 1 GiB: want %v", tt.env, got, tt.wantLimitSet)
		}
	}
}
