package builder

import (
	"errors"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/contextstore"
)

// TestNewRejectsNil: nil for a logger or a registry client is an error,
// as for every package's WithLogger.
func TestNewRejectsNil(t *testing.T) {
	store, err := contextstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, opt := range map[string]Option{"nil logger": WithLogger(nil), "nil registry": WithRegistry(nil)} {
		t.Run(name, func(t *testing.T) {
			b, err := New([]string{"unix:///nonexistent.sock"}, store, WithWorkDir(t.TempDir()), opt)
			if !errors.Is(err, hallmark.ErrInvalid) || b != nil {
				t.Fatalf("New = %v, %v; want ErrInvalid", b, err)
			}
		})
	}
}

// TestNewSecretScanAllowPaths: a bad secret scan allow path fails New and
// the error names its index.
func TestNewSecretScanAllowPaths(t *testing.T) {
	store, err := contextstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := New([]string{"unix:///nonexistent.sock"}, store, WithWorkDir(t.TempDir()), WithSecretScanAllowPaths("/ok", "/a/["))
	if err == nil || !strings.Contains(err.Error(), "[1]") {
		t.Fatalf("New = %v, %v; want an error naming [1]", b, err)
	}
}
