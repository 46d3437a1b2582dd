package server

import (
	"errors"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/config"
)

// TestWithLoggerNil: nil for a logger is an error, as for every package's
// WithLogger.
func TestWithLoggerNil(t *testing.T) {
	issuers := []config.Issuer{{URL: "http://127.0.0.1:1", Audience: "a"}}
	if a, err := NewAuthenticator(t.Context(), issuers, WithAuthLogger(nil)); !errors.Is(err, hallmark.ErrInvalid) || a != nil {
		t.Errorf("NewAuthenticator(WithAuthLogger(nil)) = %v, %v; want ErrInvalid", a, err)
	}
	s := &Server{}
	if err := WithLogger(nil)(s); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("WithLogger(nil) = %v, want ErrInvalid", err)
	}
}
