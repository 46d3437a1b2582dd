package sign

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCredentialCacheFreshness(t *testing.T) {
	issued := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cert := &x509.Certificate{NotBefore: issued, NotAfter: issued.Add(10 * time.Minute)}
	tests := []struct {
		name   string
		maxAge time.Duration
		at     time.Time
		fresh  bool
	}{
		{"reuse off", 0, issued.Add(time.Second), false},
		{"young", 5 * time.Minute, issued.Add(time.Minute), true},
		{"at max age", 5 * time.Minute, issued.Add(5 * time.Minute), false},
		{"long max age, a minute of validity left", time.Hour, issued.Add(9 * time.Minute), false},
		{"long max age, more than a minute left", time.Hour, issued.Add(8*time.Minute + 59*time.Second), true},
		{"clock before certificate", 5 * time.Minute, issued.Add(-time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := issued
			c := &credentialCache{maxAge: tt.maxAge, now: func() time.Time { return now }}
			c.store(&credential{cert: cert, issued: issued})
			now = tt.at
			if got := c.fresh() != nil; got != tt.fresh {
				t.Fatalf("fresh() at %v = %v, want %v", tt.at.Sub(issued), got, tt.fresh)
			}
		})
	}
}

func TestCheckToken(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	jwt := func(payload string) string {
		return "eyJhbGciOiJFUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2lnbmF0dXJlLXNlY3JldC1wYXJ0"
	}
	tests := []struct {
		name    string
		token   string
		wantErr string
	}{
		{"valid", jwt(`{"iss":"https://i","sub":"s","exp":1800000060}`), ""},
		{"no expiry", jwt(`{"iss":"https://i","email":"a@b"}`), ""},
		{"expired", jwt(`{"iss":"https://i","sub":"s","exp":1800000000}`), "expired"},
		{"no subject", jwt(`{"iss":"https://i","exp":1800000060}`), "neither a sub nor an email"},
		{"two parts", "abc.def", "not a JWT"},
		{"payload not base64", "a.%%%.c", "not base64url"},
		{"payload not json", jwt(`[1]`), "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkToken(tt.token, now)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("checkToken: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("checkToken error = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Fatalf("error %q contains the token", err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	token := "aaa.bbb.signature-part-long-enough"
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"whole token", errors.New("fulcio said: " + token), "fulcio said: [token redacted]"},
		{"signature part", errors.New("bad sig signature-part-long-enough"), "bad sig [token redacted]"},
		{"unrelated", errors.New("connection refused"), "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redact(tt.err, token).Error(); got != tt.want {
				t.Fatalf("redact = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPinRejectsOtherIdentity(t *testing.T) {
	s := &Signer{}
	if err := s.pin("https://issuer", "https://first"); err != nil {
		t.Fatal(err)
	}
	if err := s.pin("https://issuer", "https://first"); err != nil {
		t.Fatalf("pinning the same identity again: %v", err)
	}
	if err := s.pin("https://issuer", "https://second"); err == nil {
		t.Fatal("pinning a second identity succeeded")
	}
	if i, san := s.Identity(); i != "https://issuer" || san != "https://first" {
		t.Fatalf("Identity() = %q, %q", i, san)
	}
}
