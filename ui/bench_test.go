package ui

import (
	"context"
	"database/sql"
	"html"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/storebench"
	"github.com/hallmark-dev/hallmark/store"
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
	start := time.Now()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "page-ms")
	check()
}

// BenchmarkLists renders the first and second page of each list, with
// each filter, on the store benchmark's data set of 10,000 images (and
// their builds, tags and audit records) in SQLite: the server time of one
// page, p50 and p99. "one team" is a viewer who may read 1 repository in
// 100, so the store reads past what it may not show.
func BenchmarkLists(b *testing.B) {
	path := filepath.Join(b.TempDir(), "store.db")
	db, err := store.Open(b.Context(), store.DriverSQLite, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		b.Fatal(err)
	}
	err = storebench.Fill(b.Context(), raw, storebench.Full, b.Logf)
	raw.Close()
	if err != nil {
		b.Fatal(err)
	}
	readers := map[string]func(string) bool{
		"all":      func(string) bool { return true },
		"one team": func(r string) bool { return strings.HasPrefix(r, "reg.example/team-7/") },
	}
	h, err := New(Deps{
		Authenticate: func(_ context.Context, token string) (hallmark.Identity, error) {
			return hallmark.Identity{Issuer: "https://ci.example", Subject: token}, nil
		},
		Reader: func(id hallmark.Identity) func(string) bool { return readers[id.Subject] },
		Store:  db,
		Stale: func(context.Context, func(string) bool) ([]store.Base, []string, error) {
			return []store.Base{{Ref: "reg.example/ext:15", Digest: "sha256:new"}}, nil, nil
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	serve := func(b *testing.B, viewer, path string) string {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+viewer)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: status %d", path, w.Code)
		}
		return w.Body.String()
	}
	nextLink := regexp.MustCompile(`href="([^"]+)" rel="next"`)
	for _, l := range []struct {
		name, viewer, path, want string
	}{
		{"images", "all", "/ui/images", "reg.example/team-1/app-1@"},
		{"images/package=openssl", "all", "/ui/images?package=openssl@3.0.11", "reg.example/team-1/app-1@"},
		{"images/package=rare", "all", "/ui/images?package=pkg-4242", "/app-"},
		{"images/base=external", "all", "/ui/images?base=reg.example/ext:15", "reg.example/team-15/app-15@"},
		{"images/base=root digest", "all", "/ui/images?base=" + storebench.RootDigest(1), "reg.example/team-1/app-1@"},
		{"images/stale", "all", "/ui/images?stale=1", "reg.example/team-15/app-15@"},
		{"images/verdict=allowed (none)", "all", "/ui/images?verdict=allowed", "No image"},
		{"images/one team", "one team", "/ui/images", "reg.example/team-7/app-7@"},
		{"builds", "all", "/ui/builds", "b10000"},
		{"builds/one team", "one team", "/ui/builds", "b9907"},
		{"audit", "all", "/ui/audit", "b1"},
	} {
		for _, second := range []bool{false, true} {
			name := l.name
			if second {
				name += "/page 2"
			}
			b.Run(name, func(b *testing.B) {
				path := l.path
				if body := serve(b, l.viewer, path); !strings.Contains(body, l.want) {
					b.Fatalf("%s lacks %q:\n%.3000s", path, l.want, body)
				} else if second {
					m := nextLink.FindStringSubmatch(body)
					if m == nil {
						b.Skip("one page only")
					}
					path = html.UnescapeString(m[1])
				}
				var took []time.Duration
				for b.Loop() {
					start := time.Now()
					serve(b, l.viewer, path)
					took = append(took, time.Since(start))
				}
				slices.Sort(took)
				b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
			})
		}
	}
}
