// Package storebench writes the data set of the store's and the web
// view's benchmarks into a store whose schema is current. Full is 10,000
// images,
// 500 packages each from 20,000 distinct ones (5,000,000 links), openssl
// in 80% of them; every image built on one of 20 bases, 10 of which are
// themselves images built on 2 roots; for each image a build, a tag and
// an audit record.
//
// It writes with a few set-based SQL statements, which SQLite and
// PostgreSQL both run in seconds, straight into the tables (store.DB has
// no bulk writer, and recording 10,000 builds one by one would take
// minutes). It is for benchmarks only: the audit records it writes have
// no valid hash chain.
//
//	db, _ := store.Open(ctx, store.DriverSQLite, path) // creates the schema
//	raw, _ := sql.Open("sqlite", "file:"+path)
//	err := storebench.Fill(ctx, raw, storebench.Full, b.Logf)
package storebench
