package server

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hallmark-dev/hallmark/store"
)

// TestVulnSourceURLs: a URL source is downloaded and imported once, not
// downloaded again while its ETag holds, imported again when it changes;
// a failing or oversized download imports nothing; the query of the URL
// never reaches the import's record.
func TestVulnSourceURLs(t *testing.T) {
	var (
		mu    sync.Mutex
		body  = readFile(t, filepath.Join(sharedVulnDB(t, "ghsa"), "GHSA-v778-237x-gjrc.json"))
		etag  = `"v1"`
		gets  int
		fresh int // 200 answers
		fail  bool
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		gets++
		if fail {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fresh++
		w.Header().Set("ETag", etag)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	db, err := store.Open(t.Context(), store.DriverSQLite, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, bad := range []string{"http://advisories.example/all.zip", "https://user:pw@advisories.example/all.zip", "ftp://127.0.0.1/x.zip", "https:///x.zip"} {
		if _, err := NewVulnLoader(t.Context(), db, WithVulnSources(bad)); err == nil {
			t.Errorf("source %q was accepted", bad)
		}
	}
	l, err := NewVulnLoader(t.Context(), db, WithVulnSources(srv.URL+"/ghsa/GHSA-v778-237x-gjrc.json?token=s3cret"), WithVulnSpoolDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	imports := func() []store.VulnImport {
		t.Helper()
		imps, err := db.VulnImports(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return imps
	}
	l.pollSources(t.Context())
	imps := imports()
	if len(imps) != 1 || imps[0].Source != srv.URL+"/ghsa/GHSA-v778-237x-gjrc.json" || imps[0].Actor != sourcesActor || l.DB() == nil {
		t.Fatalf("after the first poll: %+v", imps)
	}
	l.pollSources(t.Context())
	mu.Lock()
	if gets != 2 || fresh != 1 {
		t.Errorf("second poll: %d requests, %d downloads; want 2, 1 (not modified)", gets, fresh)
	}
	body = []byte(strings.Replace(string(body), `"modified": "`, `"modified": "2099-01-01T00:00:00Z", "x_old": "`, 1))
	etag = `"v2"`
	mu.Unlock()
	l.pollSources(t.Context())
	if imps := imports(); len(imps) != 2 {
		t.Errorf("after the file changed: %d imports, want 2", len(imps))
	}
	mu.Lock()
	fail, etag = true, `"v3"`
	mu.Unlock()
	l.pollSources(t.Context())
	if imps := imports(); len(imps) != 2 {
		t.Errorf("a failing download recorded an import: %d", len(imps))
	}
	if err := l.importURL(t.Context(), l.urls[0], map[string]bool{}); err == nil || !strings.Contains(err.Error(), "503") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("failing download: %v (want the status, never the URL's query)", err)
	}

	// Over vulndb.maxImportBytes: refused before it is imported.
	small, err := NewVulnLoader(t.Context(), db, WithVulnSources(srv.URL+"/big.json"), WithVulnMaxImportBytes(16))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	if err := small.importURL(t.Context(), small.urls[0], map[string]bool{}); err == nil || !strings.Contains(err.Error(), "over vulndb.maxImportBytes") {
		t.Errorf("oversized: %v", err)
	}
}
