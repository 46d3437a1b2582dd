package hallmark

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDigest(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	tests := []struct {
		in   string
		ok   bool
		name string
	}{
		{"sha256:" + hex, true, "valid"},
		{"sha256:" + strings.ToUpper(hex), false, "uppercase"},
		{"sha512:" + hex, false, "other algorithm"},
		{"sha256:" + hex[:63], false, "short"},
		{"sha256:" + hex + "0", false, "long"},
		{hex, false, "no algorithm"},
		{"sha256:" + hex[:62] + "zz", false, "not hex"},
		{"", false, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDigest(tt.in)
			if tt.ok {
				if err != nil || d.String() != tt.in || d.Hex() != strings.TrimPrefix(tt.in, "sha256:") {
					t.Fatalf("ParseDigest(%q) = %q, %v", tt.in, d, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseDigest(%q) error = %v, want ErrInvalid", tt.in, err)
			}
		})
	}
}

func TestParseDigestClipsLongInput(t *testing.T) {
	_, err := ParseDigest(strings.Repeat("x", 10000))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error for a 10000-byte input is %d bytes", len(err.Error()))
	}
}

func TestSecretStringHidesValue(t *testing.T) {
	s := Secret{ID: "npmrc", Value: []byte("hunter2")}
	if strings.Contains(s.String(), "hunter2") {
		t.Fatalf("Secret.String() = %q shows the value", s.String())
	}
}
