package devstack

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestGrantSearch: directories the server user cannot search get o+x and
// nothing else; the others are left alone.
func TestGrantSearch(t *testing.T) {
	top := t.TempDir()
	a := filepath.Join(top, "a")
	b := filepath.Join(a, "b")
	if err := os.MkdirAll(b, 0o700); err != nil {
		t.Fatal(err)
	}
	modes := map[string]os.FileMode{top: 0o700, a: 0o750, b: 0o711}
	for d, m := range modes {
		if err := os.Chmod(d, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := grantSearch(b, &pgUser{uid: 4242, gid: 4242}, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{top: 0o701, a: 0o751, b: 0o711}
	for d, m := range want {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != m {
			t.Errorf("%s: mode %o, want %o", d, st.Mode().Perm(), m)
		}
	}
	if err := grantSearch(b, nil, io.Discard); err != nil {
		t.Fatalf("grantSearch for this process's own user: %v", err)
	}
}
