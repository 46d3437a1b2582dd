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

func TestSHA256(t *testing.T) {
	// sha256("") is the well-known e3b0… digest.
	if got, want := SHA256(nil), Digest("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"); got != want {
		t.Fatalf("SHA256(nil) = %s, want %s", got, want)
	}
	if _, err := ParseDigest(SHA256([]byte("x")).String()); err != nil {
		t.Fatalf("SHA256 gives an invalid digest: %v", err)
	}
}
