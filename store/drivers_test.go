package store

import (
	"path/filepath"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testDrivers are the databases every store test runs against: the same
// suite for both.
var testDrivers = []string{DriverSQLite, DriverPostgres}

// testDSN gives a fresh, empty database of driver.
func testDSN(t testing.TB, driver string) string {
	t.Helper()
	switch driver {
	case DriverSQLite:
		return filepath.Join(t.TempDir(), "store.db")
	case DriverPostgres:
		return pgtest.DSN(t)
	}
	t.Fatalf("no test database for driver %s", driver)
	return ""
}
