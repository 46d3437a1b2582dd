package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/devstack"
)

// TestImportDevVulnDB: `hallmark dev up` imports every file of
// HALLMARK_VULNDB's paths with a token of the dev subject, one line each.
func TestImportDevVulnDB(t *testing.T) {
	var mu sync.Mutex
	var subjects []string
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		subjects = append(subjects, r.Form.Get("subject"))
		mu.Unlock()
		_, _ = w.Write([]byte(`{"token":"dev-token"}`))
	}))
	t.Cleanup(issuer.Close)
	dir := writeFiles(t, map[string]string{"Go-all.zip": "zip", "ghsa/a.json": "{}", "ghsa/b.json": "{}"})
	f := &fakeVulnDB{}
	st := devstack.State{Gateway: startVulnDB(t, f), Issuer: issuer.URL}
	var out bytes.Buffer
	list := filepath.Join(dir, "Go-all.zip") + ":" + filepath.Join(dir, "ghsa") + ":"
	if err := importDevVulnDB(t.Context(), st, list, &out); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if want := []string{"Go-all.zip", "ghsa/a.json", "ghsa/b.json"}; !slices.Equal(f.sources, want) || f.auth[0] != "Bearer dev-token" || subjects[0] != devSubject {
		t.Errorf("sources %q, auth %q, subjects %q", f.sources, f.auth, subjects)
	}
	if n := strings.Count(out.String(), "hallmark: HALLMARK_VULNDB: imported "); n != 3 {
		t.Errorf("output %q", out.String())
	}
	if err := importDevVulnDB(t.Context(), st, "", &out); err != nil {
		t.Errorf("an empty list: %v", err)
	}
	if err := importDevVulnDB(t.Context(), st, filepath.Join(dir, "bad.json"), &out); err == nil || !strings.HasPrefix(err.Error(), "HALLMARK_VULNDB: ") {
		t.Errorf("a missing file: %v", err)
	}
}
