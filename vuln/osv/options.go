package osv

import (
	"fmt"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Default limits of an import. osv.dev's largest per-ecosystem archives
// hold a few hundred thousand records of a few kilobytes each.
const (
	DefaultMaxFileBytes   = 4 << 30  // 4 GiB: the file or archive read
	DefaultMaxRecordBytes = 16 << 20 // 16 MiB: one record, as JSON
	DefaultMaxTotalBytes  = 16 << 30 // 16 GiB: all records of one import, as JSON
	DefaultMaxRecords     = 2_000_000
)

// maxWarnings bounds the warnings of one import; a last one counts the rest.
const maxWarnings = 100

type options struct {
	maxFileBytes   int64
	maxRecordBytes int64
	maxTotalBytes  int64
	maxRecords     int
	onJSON         func(id string, data []byte)
}

// Option configures Parse, Import and ImportReader.
type Option func(*options) error

// WithMaxFileBytes limits the size of the file, or the archive, that an
// import reads. The default is DefaultMaxFileBytes (4 GiB).
func WithMaxFileBytes(n int64) Option {
	return func(o *options) error { return positive("max file bytes", n, &o.maxFileBytes) }
}

// WithMaxRecordBytes limits the size of one record's JSON: a file of a
// directory, an entry of an archive as it inflates. The default is
// DefaultMaxRecordBytes (16 MiB).
func WithMaxRecordBytes(n int64) Option {
	return func(o *options) error { return positive("max record bytes", n, &o.maxRecordBytes) }
}

// WithMaxTotalBytes limits the JSON that one import reads in all, counted
// as it inflates, so that an archive cannot expand without bound. The
// default is DefaultMaxTotalBytes (16 GiB).
func WithMaxTotalBytes(n int64) Option {
	return func(o *options) error { return positive("max total bytes", n, &o.maxTotalBytes) }
}

// WithMaxRecords limits the records of one import, and the entries of an
// archive or the files of a directory. The default is DefaultMaxRecords
// (2,000,000).
func WithMaxRecords(n int) Option {
	return func(o *options) error {
		var v int64
		if err := positive("max records", int64(n), &v); err != nil {
			return err
		}
		o.maxRecords = n
		return nil
	}
}

// WithRecordJSON calls fn with the id and JSON of each record an import
// reads, as it reads it, so that a caller can keep the records as
// imported (a store). An import that fails after some calls returns no
// records: the caller must drop what fn was given. Parse does not call
// it. The default is none.
func WithRecordJSON(fn func(id string, data []byte)) Option {
	return func(o *options) error { o.onJSON = fn; return nil }
}

func positive(what string, n int64, dst *int64) error {
	if n <= 0 {
		return fmt.Errorf("%w: %s %d is not positive", hallmark.ErrInvalid, what, n)
	}
	*dst = n
	return nil
}

func newOptions(opts []Option) (options, error) {
	o := options{
		maxFileBytes:   DefaultMaxFileBytes,
		maxRecordBytes: DefaultMaxRecordBytes,
		maxTotalBytes:  DefaultMaxTotalBytes,
		maxRecords:     DefaultMaxRecords,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}
