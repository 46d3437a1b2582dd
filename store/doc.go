// Package store is Hallmark's memory: a record of every build, image
// imported from its registry, tag move, verification and admission
// decision, the packages of every signed SBOM indexed for queries, and an
// append-only audit log whose records are chained by hash so that a
// deleted or altered row is detectable.
//
// One schema serves two databases: SQLite in the gateway's data directory
// (modernc.org/sqlite, pure Go, nothing to install), the default, and
// PostgreSQL (pgx) so that several gateway replicas share one store. Open
// applies the versioned migrations of schema.go at start; on PostgreSQL an
// advisory lock makes replicas that start together apply them once.
//
// Queries return pages in a stable order with opaque cursors; filters are
// always bound as parameters, never spliced into SQL. The store does not
// authorize: callers pass the repositories a caller may read.
package store
