package server

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/hallmark-dev/hallmark/store"
)

// TestVulnSources: new files of the sources are imported once; a file
// that is refused is logged and not tried again until it changes; hidden
// entries and other files are skipped.
func TestVulnSources(t *testing.T) {
	dir := t.TempDir()
	ghsa := sharedVulnDB(t, "ghsa")
	for _, name := range []string{"GHSA-v778-237x-gjrc.json", "GHSA-69ch-w2m2-3vjp.json"} {
		if err := os.MkdirAll(filepath.Join(dir, "ghsa"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "ghsa", name), readFile(t, filepath.Join(ghsa, name)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{"README.md": "no", ".hidden/x.json": "{", "bad.json": `{"id": 1}`} {
		p := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db, err := store.Open(t.Context(), store.DriverSQLite, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := NewVulnLoader(t.Context(), db, WithVulnSources("relative/dir")); err == nil {
		t.Error("a relative source was accepted")
	}
	l, err := NewVulnLoader(t.Context(), db, WithVulnSources(dir))
	if err != nil {
		t.Fatal(err)
	}
	l.pollSources(t.Context())
	imports, err := db.VulnImports(t.Context())
	if err != nil || len(imports) != 2 || imports[0].Actor != sourcesActor || l.DB() == nil || l.DB().Len() != 2 {
		t.Fatalf("after the first poll: imports %+v, %v", imports, err)
	}
	if !l.failed[hashOf(t, filepath.Join(dir, "bad.json"))] {
		t.Error("bad.json is not remembered as failed")
	}
	l.pollSources(t.Context())
	if again, _ := db.VulnImports(t.Context()); len(again) != 2 {
		t.Errorf("a second poll recorded %d imports, want the same 2", len(again))
	}
}

func hashOf(t *testing.T, path string) string {
	t.Helper()
	sum := sha256.Sum256(readFile(t, path))
	return hex.EncodeToString(sum[:])
}
