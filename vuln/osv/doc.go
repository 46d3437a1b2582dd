// Package osv reads vulnerability advisories in the OSV format
// (https://ossf.github.io/osv-schema/), as osv.dev exports them per
// ecosystem (all.zip) and as databases publish them one record per file.
//
// Parse parses one record, strictly where the schema is strict and
// forward-compatibly elsewhere: unknown fields are ignored, as the schema
// asks; an id that is not a plain identifier, a missing modified time, a
// package without an ecosystem or a name, a range without events, or an
// event that is not exactly one of introduced, fixed, last_affected and
// limit is an error wrapping hallmark.ErrInvalid. A range of a type the
// schema does not define is kept, with a warning, and never evaluated.
//
// Import reads a JSON file, a directory of them, or a zip archive; an
// ImportReader reads a file or an archive from an io.ReaderAt. An import
// is all or nothing: it returns every record with an ImportInfo (source,
// sha256, record count, newest modified time, warnings) or an error that
// names the entry at fault. Archives are read in memory and never
// extracted; their entry count, entry names, flags, methods, declared and
// inflated sizes are checked, one record's JSON is bounded
// (WithMaxRecordBytes), and so are the records and the bytes of the whole
// import (WithMaxRecords, WithMaxTotalBytes), so that a zip bomb stops at
// the limit. Two records with one id in one import are an error.
package osv
