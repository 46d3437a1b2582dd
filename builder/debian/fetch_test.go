package debian

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

// mirror serves the files of plan's .debs under their URIs' paths.
func mirror(t *testing.T, plan *Plan, paths []string, requests *atomic.Int64) *httptest.Server {
	t.Helper()
	files := map[string]string{}
	for i, p := range plan.Packages {
		files["/"+filepath.Base(strings.ReplaceAll(p.URI, "%2b", "+"))] = paths[i]
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, f)
	}))
	t.Cleanup(srv.Close)
	for i := range plan.Packages {
		plan.Packages[i].URI = srv.URL + "/" + filepath.Base(plan.Packages[i].URI)
	}
	return srv
}

func TestFetch(t *testing.T) {
	plan, paths := pool(t, "amd64", testDebs()...)
	var requests atomic.Int64
	mirror(t, plan, paths, &requests)
	cache := t.TempDir()
	f, err := NewFetcher(cache, WithParallelDownloads(2))
	if err != nil {
		t.Fatal(err)
	}
	got, st, err := f.Fetch(t.Context(), plan)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if st.Downloaded != 3 || st.Cached != 0 || requests.Load() != 3 {
		t.Errorf("stats %+v, %d requests", st, requests.Load())
	}
	for i, p := range got {
		if p != filepath.Join(cache, plan.Packages[i].SHA256.Hex()+".deb") {
			t.Errorf("path %d = %s", i, p)
		}
	}
	// Warm: nothing is downloaded; a damaged cache entry is fetched again.
	if err := os.WriteFile(got[1], []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, st, err = f.Fetch(t.Context(), plan)
	if err != nil || st.Downloaded != 1 || st.Cached != 2 || requests.Load() != 4 {
		t.Errorf("warm fetch: %v, %+v, %d requests", err, st, requests.Load())
	}
}

func TestFetchRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Package)
		err  error
		want string
	}{
		{name: "sha256 differs", edit: func(p *Package) { p.SHA256 = hallmark.SHA256([]byte("other")) }, err: hallmark.ErrInvalid, want: "the signed index says sha256:"},
		{name: "longer than the index", edit: func(p *Package) { p.Size-- }, err: hallmark.ErrInvalid, want: "the signed index says"},
		{name: "shorter than the index", edit: func(p *Package) { p.Size++ }, err: hallmark.ErrInvalid, want: "the signed index says"},
		{name: "not on the mirror", edit: func(p *Package) { p.URI += ".gone" }, err: hallmark.ErrNotFound, want: "404"},
		{name: "too large", edit: func(p *Package) { p.Size = MaxDebBytes + 1 }, err: hallmark.ErrTooLarge, want: "the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, paths := pool(t, "amd64", testDebs()[1])
			var requests atomic.Int64
			mirror(t, plan, paths, &requests)
			tt.edit(&plan.Packages[0])
			cache := t.TempDir()
			f, err := NewFetcher(cache)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = f.Fetch(t.Context(), plan)
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %v with %q", err, tt.err, tt.want)
			}
			if left, _ := os.ReadDir(cache); len(left) != 0 {
				t.Errorf("the cache keeps %d files after a failed download", len(left))
			}
		})
	}
}
