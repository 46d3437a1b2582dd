// Package pgtest gives tests a real PostgreSQL database of their own.
//
// The first call to DSN in a test binary starts one PostgreSQL server
// (devstack.StartPostgres, in a fresh temporary directory); every call
// creates an empty database on it (test_1, test_2, …), returns its DSN, and
// drops it when the test ends, so tests are isolated from each other and
// may run in parallel. Main stops the server and removes its directory
// after the tests ran, so a package that calls DSN has this TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestStore(t *testing.T) {
//		dsn := pgtest.DSN(t) // postgres://postgres:…@127.0.0.1:PORT/test_1?sslmode=disable
//		…
//	}
//
// A server that cannot start fails the test (t.Fatal); it never skips it.
// PostgreSQL comes from Debian's postgresql-15 package, which `make test`
// installs when it is missing (`hallmark dev deps`).
package pgtest
