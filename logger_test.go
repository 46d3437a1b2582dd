package hallmark

import (
	"errors"
	"log/slog"
	"testing"
)

func TestSetLogger(t *testing.T) {
	var got *slog.Logger
	if err := SetLogger(&got, nil); !errors.Is(err, ErrInvalid) || got != nil {
		t.Errorf("SetLogger(nil) = %v, stored %v; want ErrInvalid and nothing stored", err, got)
	}
	l := slog.New(slog.DiscardHandler)
	if err := SetLogger(&got, l); err != nil || got != l {
		t.Errorf("SetLogger(l) = %v, stored %v", err, got)
	}
}
