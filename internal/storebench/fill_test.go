package storebench_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/storebench"
	"github.com/hallmark-dev/hallmark/store"
)

// TestFill fills a small data set into a SQLite store and reads it back
// through the store, as the benchmarks do.
func TestFill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db, err := store.Open(t.Context(), store.DriverSQLite, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := storebench.Fill(t.Context(), raw, storebench.Size{Images: 10, Packages: 100, PerImage: 5}, t.Logf); err == nil {
		t.Error("a data set of 10 images filled")
	}
	if err := storebench.Fill(t.Context(), raw, storebench.Size{Images: 200, Packages: 100, PerImage: 20}, t.Logf); err != nil {
		t.Fatal(err)
	}
	all := func(string) bool { return true }
	ctx := t.Context()
	openssl, _, err := db.Images(ctx, store.ImageQuery{Readable: all, Package: &store.Package{Name: "openssl", Version: "3.0.11"}, Page: store.Page{Limit: 1000}})
	if err != nil || len(openssl) != 160 {
		t.Errorf("images with openssl: %d, %v; want 160 (80%%)", len(openssl), err)
	}
	onRoot, _, err := db.Images(ctx, store.ImageQuery{Readable: all, BaseDigest: hallmark.Digest(storebench.RootDigest(1)), Page: store.Page{Limit: 1000}})
	if err != nil || len(onRoot) <= 5 {
		t.Errorf("images on root 1, through bases: %d, %v; want its 5 bases and what is built on them", len(onRoot), err)
	}
	builds, _, err := db.Builds(ctx, store.BuildQuery{Readable: all})
	if err != nil || len(builds) == 0 || builds[0].Outcome != store.OutcomeSucceeded || builds[0].Digest == "" {
		t.Errorf("builds: %+v, %v", builds, err)
	}
	if d, err := db.Tag(ctx, "reg.example/team-7/app-7", "v1"); err != nil || string(d) != storebench.Digest("a", 7) {
		t.Errorf("tag: %s, %v", d, err)
	}
	events, _, err := db.Audit(ctx, store.AuditQuery{Readable: all})
	if err != nil || len(events) == 0 || events[0].Kind != store.KindBuild {
		t.Errorf("audit: %+v, %v", events, err)
	}
}
