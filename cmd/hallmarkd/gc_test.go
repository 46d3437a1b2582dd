package main

import (
	"errors"
	"math"
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) })
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(name string) ([]byte, error) {
			if s, ok := m[name]; ok {
				return []byte(s), nil
			}
			return nil, errors.New("no such file")
		}
	}
	for _, tt := range []struct {
		name        string
		env         map[string]string
		files       map[string]string
		wantPercent int
		wantLimit   int64
	}{
		{"cgroup v2 limit", nil, map[string]string{"/sys/fs/cgroup/memory.max": "2147483648\n"}, gcPercent, 2147483648 / 10 * 9},
		{"cgroup v2 without limit", nil, map[string]string{"/sys/fs/cgroup/memory.max": "max\n"}, gcPercent, 0},
		{"cgroup v1 limit", nil, map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "1073741824"}, gcPercent, 1073741824 / 10 * 9},
		{"cgroup v1 without limit", nil, map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712"}, gcPercent, 0},
		{"no cgroup", nil, nil, gcPercent, 0},
		{"the environment wins", map[string]string{"GOGC": "100", "GOMEMLIMIT": "1GiB"}, map[string]string{"/sys/fs/cgroup/memory.max": "2147483648"}, 100, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			got := tuneGC(func(k string) string { return tt.env[k] }, files(tt.files))
			if got != tt.wantLimit {
				t.Errorf("limit %d, want %d", got, tt.wantLimit)
			}
			if p := debug.SetGCPercent(100); p != tt.wantPercent {
				t.Errorf("GC percent %d, want %d", p, tt.wantPercent)
			}
			want := tt.wantLimit
			if want == 0 {
				want = math.MaxInt64
			}
			if l := debug.SetMemoryLimit(-1); l != want {
				t.Errorf("memory limit %d, want %d", l, want)
			}
		})
	}
}
