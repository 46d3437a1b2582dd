package hallmark

import (
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven cha…"},
		{"héllo", 2, "h…"}, // é is two bytes: never cut inside it
		{"héllo", 3, "hé…"},
		{"x", 0, "x"[:0] + "…"},
		{"", 0, ""},
	}
	for _, tt := range tests {
		got := Clip(tt.s, tt.n)
		if got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q is not valid UTF-8", tt.s, tt.n, got)
		}
	}
}
