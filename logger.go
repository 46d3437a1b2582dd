package hallmark

import (
	"fmt"
	"log/slog"
)

// SetLogger is the body of every package's WithLogger option: it stores l
// in *dst, and a nil l is an error wrapping ErrInvalid, the same in every
// package.
func SetLogger(dst **slog.Logger, l *slog.Logger) error {
	if l == nil {
		return fmt.Errorf("%w: logger is nil", ErrInvalid)
	}
	*dst = l
	return nil
}
