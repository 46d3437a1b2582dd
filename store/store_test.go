package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// openStores opens an empty store of each driver the tests run against.
func openStores(t *testing.T) map[string]*DB {
	t.Helper()
	out := map[string]*DB{}
	for _, driver := range testDrivers {
		dsn := testDSN(t, driver)
		db, err := Open(t.Context(), driver, dsn, WithClock(testClock()))
		if err != nil {
			t.Fatalf("open %s store: %v", driver, err)
		}
		t.Cleanup(func() { db.Close() })
		out[driver] = db
	}
	return out
}

// forEachStore runs f as a subtest against an empty store of each driver.
func forEachStore(t *testing.T, f func(t *testing.T, db *DB)) {
	t.Helper()
	for driver, db := range openStores(t) {
		t.Run(driver, func(t *testing.T) { f(t, db) })
	}
}

// testClock is a clock that advances one second per call, from a fixed
// time.
func testClock() func() time.Time {
	t := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

func digest(s string) hallmark.Digest {
	return hallmark.Digest("sha256:" + strings.Repeat(s, 64)[:64])
}

func pkgs(t *testing.T, purls ...string) []Package {
	t.Helper()
	var out []Package
	for _, p := range purls {
		pkg, err := PackageOf(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pkg)
	}
	return out
}

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

// build is a successful build of repo:tag on bases, started at t0+n min.
func build(id, repo, tag string, d hallmark.Digest, n int, bases ...Base) *Build {
	return &Build{
		ID: id, Kind: KindBuild, Repository: repo, Digest: d, Outcome: OutcomeSucceeded,
		Requester: hallmark.Identity{Issuer: "https://ci.example", Subject: "repo:" + repo, Claims: map[string]any{"ref": "main"}},
		Source:    Source{GitURL: "https://git.example/" + repo, GitCommit: strings.Repeat("c", 40), Dockerfile: "Dockerfile"},
		Bases:     bases, Tags: []TagMove{{Tag: tag}},
		Attestations: []Attestation{{PredicateType: "https://slsa.dev/provenance/v1", Digest: digest("a" + id), LogIndex: 7}},
		Started:      t0.Add(time.Duration(n) * time.Minute), Finished: t0.Add(time.Duration(n)*time.Minute + 5*time.Second),
	}
}

// fixture records a base image, two images on it, one on one of those,
// and one on something else.
func fixture(t *testing.T, db *DB) {
	t.Helper()
	base := build("b1", "reg.example/base", "12", digest("1"), 0)
	base.Kind = KindBase
	base.Packages = pkgs(t, "pkg:deb/debian/openssl@3.0.11?arch=amd64&distro=debian-12", "pkg:deb/debian/libc6@2.36-9?arch=amd64&upstream=glibc")
	a := build("a1", "reg.example/team-a/app", "v1", digest("a"), 1, Base{Ref: "reg.example/base:12", Repository: "reg.example/base", Digest: digest("1"), Runtime: true},
		Base{Ref: "reg.example/golang:1.26", Repository: "reg.example/golang", Digest: digest("9")})
	a.Packages = append(slices.Clone(base.Packages), pkgs(t, "pkg:pypi/requests@2.31.0", "pkg:golang/stdlib@1.26.8")...)
	a2 := build("a2", "reg.example/team-a/worker", "v1", digest("b"), 2, Base{Ref: "reg.example/base:12", Repository: "reg.example/base", Digest: digest("1"), Runtime: true})
	a2.Packages = base.Packages
	c := build("c1", "reg.example/team-c/svc", "v3", digest("c"), 3, Base{Ref: "reg.example/team-a/app:v1", Repository: "reg.example/team-a/app", Digest: digest("a"), Runtime: true})
	c.Packages = a.Packages
	d := build("d1", "reg.example/team-d/tool", "latest", digest("d"), 4, Base{Ref: "reg.example/alpine:3.20", Repository: "reg.example/alpine", Digest: digest("2"), Runtime: true})
	d.Packages = pkgs(t, "pkg:apk/alpine/openssl@3.3.2-r0?arch=x86_64", "pkg:npm/%40types/node@20.1.0")
	failed := &Build{ID: "f1", Kind: KindBuild, Repository: "reg.example/team-a/app", Outcome: OutcomeFailed, Error: "invalid_argument: bad Dockerfile",
		Requester: hallmark.Identity{Issuer: "https://ci.example", Subject: "repo:x"}, Started: t0.Add(5 * time.Minute), Finished: t0.Add(5 * time.Minute)}
	for _, b := range []*Build{base, a, a2, c, d, failed} {
		if err := db.RecordBuild(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
}

func all(string) bool { return true }

func repos(images []Image) []string {
	var out []string
	for _, im := range images {
		out = append(out, im.Repository)
	}
	return out
}

func TestImages(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		fixture(t, db)
		openssl, _ := PackageOf("pkg:deb/debian/openssl@3.0.11")
		apkOpenssl, _ := PackageOf("pkg:apk/alpine/openssl")
		tests := []struct {
			name string
			q    ImageQuery
			want []string
		}{
			{"base digest, through a base of a base", ImageQuery{BaseDigest: digest("1")}, []string{"reg.example/team-a/app", "reg.example/team-a/worker", "reg.example/team-c/svc"}},
			{"base ref", ImageQuery{BaseRef: "reg.example/base:12"}, []string{"reg.example/team-a/app", "reg.example/team-a/worker", "reg.example/team-c/svc"}},
			{"build-stage base", ImageQuery{BaseRef: "reg.example/golang:1.26"}, []string{"reg.example/team-a/app", "reg.example/team-c/svc"}},
			{"unknown base", ImageQuery{BaseDigest: digest("7")}, nil},
			{"package name", ImageQuery{Package: &Package{Name: "openssl"}}, []string{"reg.example/base", "reg.example/team-a/app", "reg.example/team-a/worker", "reg.example/team-c/svc", "reg.example/team-d/tool"}},
			{"package name and version", ImageQuery{Package: &Package{Name: "openssl", Version: "3.0.11"}}, []string{"reg.example/base", "reg.example/team-a/app", "reg.example/team-a/worker", "reg.example/team-c/svc"}},
			{"purl, qualifiers ignored", ImageQuery{Package: &openssl}, []string{"reg.example/base", "reg.example/team-a/app", "reg.example/team-a/worker", "reg.example/team-c/svc"}},
			{"purl without version", ImageQuery{Package: &apkOpenssl}, []string{"reg.example/team-d/tool"}},
			{"scoped npm name", ImageQuery{Package: &Package{Type: "npm", Namespace: "@types", Name: "node"}}, []string{"reg.example/team-d/tool"}},
			{"package and repository", ImageQuery{Package: &Package{Name: "openssl"}, Repository: "reg.example/team-d/tool"}, []string{"reg.example/team-d/tool"}},
			{"stale", ImageQuery{Stale: []Base{{Ref: "reg.example/base:12", Digest: digest("5")}}}, []string{"reg.example/team-a/app", "reg.example/team-a/worker"}},
			{"not stale", ImageQuery{Stale: []Base{{Ref: "reg.example/base:12", Digest: digest("1")}}}, nil},
			{"sql-looking filter is data", ImageQuery{Repository: "x' OR '1'='1", Package: &Package{Name: "openssl' --"}}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.q.Readable = all
				got, next, err := db.Images(t.Context(), tt.q)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(repos(got), tt.want) || next != "" {
					t.Errorf("got %q (next %q), want %q", repos(got), next, tt.want)
				}
			})
		}
	})
}

func TestImagesReadScopeAndPages(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		fixture(t, db)
		ctx := t.Context()
		got, _, err := db.Images(ctx, ImageQuery{BaseDigest: digest("1")})
		if err != nil || len(got) != 0 {
			t.Fatalf("no read scope: %q, %v; want nothing", repos(got), err)
		}
		teamA := func(r string) bool { return strings.HasPrefix(r, "reg.example/team-a/") }
		var seen []string
		q := ImageQuery{Readable: teamA, Package: &Package{Name: "openssl"}, Page: Page{Limit: 1}}
		for range 10 {
			page, next, err := db.Images(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, repos(page)...)
			if next == "" {
				break
			}
			q.Cursor = next
		}
		if want := []string{"reg.example/team-a/app", "reg.example/team-a/worker"}; !slices.Equal(seen, want) {
			t.Errorf("paged through %q, want %q", seen, want)
		}
		im, _, err := db.Images(ctx, ImageQuery{Readable: all, Repository: "reg.example/team-a/app"})
		if err != nil || len(im) != 1 {
			t.Fatalf("%v %v", im, err)
		}
		if !slices.Equal(im[0].Tags, []string{"v1"}) || len(im[0].Bases) != 2 || !im[0].Bases[0].Runtime || im[0].BuildID != "a1" {
			t.Errorf("image %+v", im[0])
		}
	})
}

func TestBadQueries(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		fixture(t, db)
		ctx := t.Context()
		_, buildsCursor, err := db.Builds(ctx, BuildQuery{Readable: all, Page: Page{Limit: 1}})
		if err != nil || buildsCursor == "" {
			t.Fatalf("builds: %q, %v", buildsCursor, err)
		}
		tests := []struct {
			name string
			run  func() error
		}{
			{"huge page", func() error {
				_, _, err := db.Images(ctx, ImageQuery{Readable: all, Page: Page{Limit: 1 << 20}})
				return err
			}},
			{"negative page", func() error {
				_, _, err := db.Builds(ctx, BuildQuery{Readable: all, Page: Page{Limit: -1}})
				return err
			}},
			{"garbage cursor", func() error {
				_, _, err := db.Audit(ctx, AuditQuery{Readable: all, Page: Page{Cursor: "'; DROP TABLE audit; --"}})
				return err
			}},
			{"cursor of another query", func() error {
				_, _, err := db.Images(ctx, ImageQuery{Readable: all, Page: Page{Cursor: buildsCursor}})
				return err
			}},
			{"unknown audit kind", func() error {
				_, _, err := db.Audit(ctx, AuditQuery{Readable: all, Kinds: []string{"build' OR 1=1"}})
				return err
			}},
			{"too many stale refs", func() error {
				_, _, err := db.Images(ctx, ImageQuery{Readable: all, Stale: make([]Base, maxStale+1)})
				return err
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.run(); !errors.Is(err, hallmark.ErrInvalid) {
					t.Errorf("error %v, want ErrInvalid", err)
				}
			})
		}
		n, _, err := db.Audit(ctx, AuditQuery{Readable: all})
		if err != nil || len(n) == 0 {
			t.Errorf("the audit log after the bad queries: %d records, %v", len(n), err)
		}
	})
}

func TestBuilds(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		fixture(t, db)
		ctx := t.Context()
		var ids []string
		q := BuildQuery{Readable: all, Page: Page{Limit: 2}}
		for {
			page, next, err := db.Builds(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range page {
				ids = append(ids, b.ID)
			}
			if next == "" {
				break
			}
			q.Cursor = next
		}
		if want := []string{"f1", "d1", "c1", "a2", "a1", "b1"}; !slices.Equal(ids, want) {
			t.Errorf("builds newest first %q, want %q", ids, want)
		}
		got, _, err := db.Builds(ctx, BuildQuery{Readable: all, Repository: "reg.example/team-a/app", Since: t0.Add(time.Minute)})
		if err != nil || len(got) != 2 || got[0].Outcome != OutcomeFailed || got[0].Error == "" || got[1].ID != "a1" {
			t.Errorf("builds of team-a/app: %+v, %v", got, err)
		}
		b, err := db.Build(ctx, "a1")
		if err != nil {
			t.Fatal(err)
		}
		if b.Requester.Claims["ref"] != "main" || len(b.Bases) != 2 || b.Source.GitCommit == "" || b.Packages != nil || len(b.Attestations) != 1 {
			t.Errorf("build a1 read back as %+v", b)
		}
		if _, err := db.Build(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown build: %v, want ErrNotFound", err)
		}
		rec, err := db.Image(ctx, "reg.example/team-a/app", digest("a"))
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Builds) != 1 || len(rec.Attestations) != 1 || len(rec.Events) != 2 || rec.Events[0].Kind != KindTag && rec.Events[1].Kind != KindTag {
			t.Errorf("image record %+v", rec)
		}
	})
}

func TestAuditChain(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		fixture(t, db)
		ctx := t.Context()
		for i := range 5 {
			if err := db.RecordDecisions(ctx, []Decision{{Kind: KindAdmission, At: t0.Add(time.Duration(i) * time.Hour), Caller: "system:serviceaccount:kube-system:replicaset-controller",
				Namespace: "prod", Object: fmt.Sprintf("Pod/web-%d", i), Ref: "reg.example/team-a/app:v1", Repository: "reg.example/team-a/app", Digest: digest("a"),
				Policy: "default", FailedRules: []string{"provenance.builder"}, Reasons: []string{"no provenance from a trusted builder"}}}); err != nil {
				t.Fatal(err)
			}
		}
		check, err := db.VerifyAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(check.Problems) != 0 || check.Records != 16 || check.Chains[chainDecisions].Length != 5 {
			t.Fatalf("intact log: %+v", check)
		}
		last, _, err := db.Audit(ctx, AuditQuery{Readable: all, Kinds: []string{KindAdmission}, Since: t0.Add(4 * time.Hour)})
		if err != nil || len(last) != 1 || check.Chains[chainDecisions].HeadHash != last[0].Hash {
			t.Fatalf("head hash %q, last decision %+v, %v", check.Chains[chainDecisions].HeadHash, last, err)
		}
		denied, _, err := db.Audit(ctx, AuditQuery{Readable: all, Kinds: []string{KindAdmission}, Since: t0.Add(time.Hour), Until: t0.Add(3 * time.Hour)})
		if err != nil || len(denied) != 2 || denied[0].Outcome != OutcomeDenied || denied[0].Subject != "prod/Pod/web-1" || !strings.Contains(string(denied[0].Detail), "provenance.builder") {
			t.Fatalf("admissions in [1h, 3h): %+v, %v", denied, err)
		}
		n, err := db.PruneDecisions(ctx, t0.Add(2*time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("pruned %d, %v; want 2", n, err)
		}
		if check, err := db.VerifyAudit(ctx); err != nil || len(check.Problems) != 0 || check.Chains[chainDecisions].FirstSeq != 3 {
			t.Fatalf("after retention: %+v, %v", check, err)
		}
		tamper := []struct {
			name, sql, want string
		}{
			{"altered", `UPDATE audit SET actor = 'someone else' WHERE chain = 'events' AND seq = 3`, "record 3 (id 3) was altered"},
			{"removed", `DELETE FROM audit WHERE chain = 'events' AND seq = 5`, "records 5 to 5 are missing"},
			{"end removed", `DELETE FROM audit WHERE chain = 'decisions' AND seq = 5`, "chain decisions: the last record is 4, but the chain's head is record 5"},
		}
		for _, tt := range tamper {
			if _, err := db.db.ExecContext(ctx, tt.sql); err != nil {
				t.Fatal(err)
			}
			check, err := db.VerifyAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(check.Problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("%s: problems %q, want one containing %q", tt.name, check.Problems, tt.want)
			}
		}
	})
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	ctx := t.Context()
	db, err := Open(ctx, DriverSQLite, path)
	if err != nil {
		t.Fatal(err)
	}
	fixture(t, db)
	db.Close()
	db, err = Open(ctx, DriverSQLite, path)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := db.Images(ctx, ImageQuery{Readable: all, BaseRef: "reg.example/base:12"})
	if err != nil || len(got) != 3 {
		t.Errorf("after reopening: %q, %v", repos(got), err)
	}
	if _, err := db.db.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (999, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(ctx, DriverSQLite, path); err == nil || !strings.Contains(err.Error(), "newer than this gateway") {
		t.Errorf("a newer schema: %v", err)
	}
	if _, err := Open(ctx, "mysql", "x"); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("unknown driver: %v", err)
	}
}

func TestRecordBuildRejects(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		for _, b := range []*Build{
			{},
			{ID: "x", Kind: "rocket", Outcome: OutcomeSucceeded},
			{ID: "x", Kind: KindBuild, Outcome: "maybe"},
			{ID: "x", Kind: KindBuild, Outcome: OutcomeSucceeded},
		} {
			if err := db.RecordBuild(context.Background(), b); !errors.Is(err, hallmark.ErrInvalid) {
				t.Errorf("%+v: %v, want ErrInvalid", b, err)
			}
		}
	})
}

func TestTagHistory(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		first := build("t1", "reg.example/app", "v1", digest("1"), 0)
		second := build("t2", "reg.example/app", "v1", digest("2"), 1)
		for _, b := range []*Build{first, second} {
			if err := db.RecordBuild(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.Build(ctx, "t2")
		if err != nil || got.Tags[0].Previous != digest("1") {
			t.Fatalf("second build's tag: %+v, %v; want previous %s", got.Tags, err, digest("1"))
		}
		if d, err := db.Tag(ctx, "reg.example/app", "v1"); err != nil || d != digest("2") {
			t.Errorf("tag v1 -> %s, %v", d, err)
		}
		moves, _, err := db.Audit(ctx, AuditQuery{Readable: all, Kinds: []string{KindTag}})
		if err != nil || len(moves) != 2 || !strings.Contains(string(moves[1].Detail), string(digest("1"))) {
			t.Errorf("tag moves %+v, %v", moves, err)
		}
	})
}
