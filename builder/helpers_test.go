package builder

import (
	"testing"

	"github.com/hallmark-dev/hallmark/builder/contextstore"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

// registryBuilder is a Builder with no reachable worker that reaches
// registries through registrytest.Client, on a context store of its own;
// it is closed when t ends.
func registryBuilder(t testing.TB, opts ...Option) *Builder {
	t.Helper()
	store, err := contextstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := New([]string{"unix:///nonexistent.sock"}, store, append([]Option{WithRegistry(registrytest.Client(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}
