package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records failures instead of stopping.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}

func TestCheck(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a", "b.golden")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("same\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path, got string
		fail            bool
	}{
		{"equal", p, "same\n", false},
		{"different", p, "other\n", true},
		{"missing file", p + ".missing", "x", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			Check(r, tt.path, []byte(tt.got))
			if r.failed != tt.fail {
				t.Errorf("failed = %v, want %v", r.failed, tt.fail)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	old := *update
	*update = true
	defer func() { *update = old }()
	p := filepath.Join(t.TempDir(), "new", "x.golden")
	Check(t, p, []byte("fresh"))
	if got, err := os.ReadFile(p); err != nil || string(got) != "fresh" {
		t.Errorf("-update wrote %q, %v", got, err)
	}
}
