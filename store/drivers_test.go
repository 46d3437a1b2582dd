package store

import (
	"path/filepath"
	"testing"
)

// testDrivers are the databases every store test runs against.
var testDrivers = []string{DriverSQLite}

// testDSN gives a fresh, empty database of driver.
func testDSN(t *testing.T, driver string) string {
	t.Helper()
	switch driver {
	case DriverSQLite:
		return filepath.Join(t.TempDir(), "store.db")
	}
	t.Fatalf("no test database for driver %s", driver)
	return ""
}
