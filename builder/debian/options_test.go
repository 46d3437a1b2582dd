package debian

import (
	"errors"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

// TestWithLoggerNil: nil for a logger is an error, as for every package's
// WithLogger.
func TestWithLoggerNil(t *testing.T) {
	if a, err := NewApt(WithAptLogger(nil)); !errors.Is(err, hallmark.ErrInvalid) || a != nil {
		t.Errorf("NewApt(WithAptLogger(nil)) = %v, %v; want ErrInvalid", a, err)
	}
	if f, err := NewFetcher(t.TempDir(), WithFetchLogger(nil)); !errors.Is(err, hallmark.ErrInvalid) || f != nil {
		t.Errorf("NewFetcher(WithFetchLogger(nil)) = %v, %v; want ErrInvalid", f, err)
	}
}
