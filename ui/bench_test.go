package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkImagePage renders the page of an image with 1,000 packages
// and 100 findings, from a SQLite store: the server time of one page.
func BenchmarkImagePage(b *testing.B) {
	db := openStore(b)
	fixture(b, db, 996, 100)
	h, err := New(Deps{Authenticate: authenticate, Reader: reader, Store: db})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, appURL, nil)
	req.Header.Set("Authorization", "Bearer team-a")
	check := func() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Packages (1000)") || strings.Count(w.Body.String(), `<tr class="finding">`) != 100 {
			b.Fatalf("status %d; page lacks its 1000 packages or 100 findings", w.Code)
		}
	}
	check()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
	}
	check()
}
