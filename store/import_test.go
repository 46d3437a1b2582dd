package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// TestRecordImport: an import is a build record of kind "import" whose
// audit records name the importer and the time of the import, while the
// record keeps the requester and times of the build it describes.
func TestRecordImport(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		fixture(t, db)
		at := t0.Add(48 * time.Hour)
		b := build("import-aaaaaaaaaaaa-1a2b3c4d", "reg.example/team-a/restored", "v9", digest("f"), -600,
			Base{Ref: "reg.example/base:12", Repository: "reg.example/base", Digest: digest("1"), Runtime: true})
		b.Kind = KindImport
		b.Packages = pkgs(t, "pkg:deb/debian/zlib1g@1.2.13?arch=amd64")
		b.Import = &Import{By: "https://issuer.example restorer", At: at, Ref: "reg.example/team-a/restored:v9",
			Policy: "default", RequesterFrom: RequesterFromProvenance, BuildID: "b-original"}
		if err := db.RecordBuild(ctx, b); err != nil {
			t.Fatal(err)
		}
		got, err := db.Build(ctx, b.ID)
		if err != nil || got.Kind != KindImport || got.Import == nil || *got.Import != *b.Import || !got.Started.Equal(b.Started) ||
			got.Requester.Subject != b.Requester.Subject {
			t.Fatalf("record %+v, %v", got, err)
		}
		im, err := db.Image(ctx, b.Repository, b.Digest)
		if err != nil || im.BuildID != b.ID || len(im.Bases) != 1 || len(im.Tags) != 1 || im.Tags[0] != "v9" {
			t.Fatalf("image %+v, %v", im, err)
		}
		// Found by its base and by its package like any build.
		byBase, _, err := db.Images(ctx, ImageQuery{Readable: all, BaseRef: "reg.example/base:12"})
		if err != nil || !slices.Contains(repos(byBase), b.Repository) {
			t.Errorf("images on the base: %q, %v", repos(byBase), err)
		}
		byPkg, _, err := db.Images(ctx, ImageQuery{Readable: all, Package: &Package{Name: "zlib1g"}})
		if err != nil || len(byPkg) != 1 || byPkg[0].Digest != b.Digest {
			t.Errorf("images with zlib1g: %+v, %v", byPkg, err)
		}
		events, _, err := db.Audit(ctx, AuditQuery{Readable: all, Digest: b.Digest})
		if err != nil || len(events) != 2 {
			t.Fatalf("audit %+v, %v", events, err)
		}
		for _, e := range events {
			if e.Actor != b.Import.By || !e.At.Equal(at) || e.Chain != chainEvents {
				t.Errorf("%s record: actor %q at %s chain %s; want the importer at %s", e.Kind, e.Actor, e.At, e.Chain, at)
			}
		}
		var detail struct{ Import Import }
		if events[0].Kind != KindImport || json.Unmarshal(events[0].Detail, &detail) != nil || detail.Import.RequesterFrom != RequesterFromProvenance {
			t.Errorf("import record %+v", events[0])
		}
		if check, err := db.VerifyAudit(ctx); err != nil || len(check.Problems) != 0 {
			t.Errorf("audit check %+v, %v", check, err)
		}
	})
}

func TestRecordImportRejects(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		imp := &Import{By: "x y", At: t0}
		for _, b := range []*Build{
			{ID: "i1", Kind: KindImport, Outcome: OutcomeSucceeded, Digest: digest("1")},
			{ID: "i2", Kind: KindImport, Outcome: OutcomeFailed, Import: imp},
			{ID: "i3", Kind: KindBuild, Outcome: OutcomeSucceeded, Digest: digest("1"), Import: imp},
		} {
			if err := db.RecordBuild(context.Background(), b); !errors.Is(err, hallmark.ErrInvalid) {
				t.Errorf("%+v: %v, want ErrInvalid", b, err)
			}
		}
	})
}
