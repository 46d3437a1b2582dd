package osv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/vuln/internal/vulntest"
)

func TestImportGoDatabase(t *testing.T) {
	path := vulntest.GoZip(t)
	records, info, err := Import(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if info.Source != path || info.SHA256 != hex.EncodeToString(sum[:]) || info.Records != 4291 || len(records) != 4291 {
		t.Errorf("info = %+v (%d records), want 4291 records and sha256 %x", info, len(records), sum)
	}
	// The Go database's export zeroes every modified time.
	if !info.NewestModified.IsZero() || len(info.Warnings) != 0 {
		t.Errorf("NewestModified = %v, warnings = %q", info.NewestModified, info.Warnings)
	}
	var found bool
	for _, r := range records {
		if r.ID == "GO-2024-3321" {
			found = true
			a := r.Affected[0]
			if strings.Join(r.Aliases, " ") != "CVE-2024-45337 GHSA-v778-237x-gjrc" || a.Ecosystem != "Go" || a.Name != "golang.org/x/crypto" ||
				len(a.Ranges) != 1 || a.Ranges[0].Type != RangeSemVer || a.Ranges[0].Events[1] != (Event{Fixed, "0.31.0"}) {
				t.Errorf("GO-2024-3321 = %s", dump(r))
			}
		}
	}
	if !found {
		t.Error("GO-2024-3321 is missing")
	}
}

func TestImportFile(t *testing.T) {
	path := vulntest.GHSA(t)[0]
	records, info, err := Import(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2024, 12, 13, 21, 56, 8, 0, time.UTC)
	if len(records) != 1 || records[0].ID != "GHSA-v778-237x-gjrc" || records[0].DatabaseSeverity != "CRITICAL" ||
		info.Records != 1 || !info.NewestModified.Equal(want) || len(info.SHA256) != 64 {
		t.Errorf("Import = %s, %+v", dump(records), info)
	}
}

func TestImportDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/GO-2024-0001.json", minimal("GO-2024-0001"))
	write("b/c/GO-2024-0002.json", minimal("GO-2024-0002"))
	write("README.md", []byte("# not an advisory"))
	write(".git/objects/GO-2024-0003.json", minimal("GO-2024-0003"))
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link.json")); err != nil {
		t.Fatal(err)
	}
	records, info, err := Import(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 2 || records[0].ID != "GO-2024-0001" || records[1].ID != "GO-2024-0002" || info.Records != 2 {
		t.Errorf("Import = %s", dump(records))
	}
	if w := strings.Join(info.Warnings, "; "); !strings.Contains(w, "skipped 1 entries that are not .json") || !strings.Contains(w, "skipped 1 symbolic links") {
		t.Errorf("warnings = %q", info.Warnings)
	}
	_, again, err := Import(t.Context(), dir)
	if err != nil || again.SHA256 != info.SHA256 {
		t.Errorf("a second import hashes %s, first %s (%v)", again.SHA256, info.SHA256, err)
	}
	write("a/GO-2024-0001.json", bytes.Replace(minimal("GO-2024-0001"), []byte("1.2.3"), []byte("1.2.4"), 1))
	if _, changed, err := Import(t.Context(), dir); err != nil || changed.SHA256 == info.SHA256 {
		t.Errorf("a changed file keeps the hash %s (%v)", changed.SHA256, err)
	}
	write("b/GO-2024-0001.json", minimal("GO-2024-0001"))
	if _, _, err := Import(t.Context(), dir); !errors.Is(err, hallmark.ErrInvalid) || !strings.Contains(err.Error(), "duplicate record id GO-2024-0001") {
		t.Errorf("duplicate ids in a directory: %v", err)
	}
}

func TestImportDirLimits(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"GO-1", "GO-2", "GO-3"} {
		if err := os.WriteFile(filepath.Join(dir, id+".json"), minimal(id), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, opt := range []Option{WithMaxRecords(2), WithMaxRecordBytes(100), WithMaxTotalBytes(400)} {
		if records, _, err := Import(t.Context(), dir, opt); !errors.Is(err, hallmark.ErrTooLarge) || records != nil {
			t.Errorf("Import over a limit = %d records, %v; want ErrTooLarge", len(records), err)
		}
	}
}

func TestImportErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"id": "X-1", "modified": "2024"`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Import(t.Context(), bad); !errors.Is(err, hallmark.ErrInvalid) || !strings.Contains(err.Error(), bad) {
		t.Errorf("malformed file: %v", err)
	}
	if _, _, err := Import(t.Context(), filepath.Join(dir, "missing.zip")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, minimal("GO-1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Import(t.Context(), big, WithMaxFileBytes(10)); !errors.Is(err, hallmark.ErrTooLarge) {
		t.Errorf("file over the limit: %v", err)
	}
	if _, _, err := Import(t.Context(), big, WithMaxRecords(-1)); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("WithMaxRecords(-1): %v", err)
	}
}

func TestImportRecordJSON(t *testing.T) {
	path := vulntest.GHSA(t)[0]
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	records, _, err := Import(t.Context(), path, WithRecordJSON(func(id string, b []byte) { got[id] = b }))
	if err != nil || len(records) != 1 {
		t.Fatalf("Import = %d records, %v", len(records), err)
	}
	if len(got) != 1 || !bytes.Equal(got["GHSA-v778-237x-gjrc"], data) {
		t.Errorf("WithRecordJSON got %d records, want the file's bytes under its id", len(got))
	}
}
