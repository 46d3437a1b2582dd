package server

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/store"
)

// failingStore fails every write, as a store that is down.
type failingStore struct {
	*store.DB
	calls int
}

func (f *failingStore) RecordBuild(context.Context, *store.Build) error {
	f.calls++
	return errors.New("connection refused")
}

func openTestStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), store.DriverSQLite, filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// sbomAttester attests with an SBOM that lists two packages.
func sbomAttester(b *fakeBuilder) *fakeAttester {
	return &fakeAttester{builder: b, packages: []string{"pkg:deb/debian/openssl@3.0.11?arch=amd64", "pkg:golang/stdlib@1.26.8", "not a purl"}}
}

func TestBuildRecorded(t *testing.T) {
	db := openTestStore(t)
	b := &fakeBuilder{}
	a := sbomAttester(b)
	e := newTestEnv(t, b, envConfig{opts: []Option{WithAttester(a), WithStore(db)}})
	c := e.client(e.token)
	msgs, _, err := build(t.Context(), c, uploadedRequest(t, c))
	if err != nil {
		t.Fatal(err)
	}
	res := msgs[len(msgs)-1].GetResult()
	if res == nil || slices.Contains(res.GetWarnings(), notRecorded) {
		t.Fatalf("result %v", res)
	}
	rec, err := db.Build(t.Context(), res.GetBuildId())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Outcome != store.OutcomeSucceeded || rec.Digest != imageDigest || rec.Requester.Subject != testSubject || rec.Requester.Issuer != e.issuer.url ||
		rec.Repository != testRepo || len(rec.Tags) != len(res.GetTags()) || len(rec.Attestations) != 2 || len(rec.Bases) != len(testBases) || rec.Source.ContextDigest == "" {
		t.Errorf("record %+v", rec)
	}
	// The record keeps the claims the provenance keeps, not the token's
	// expiry, nonce or audience.
	if _, ok := rec.Requester.Claims["jti"]; ok || rec.Requester.Claims["repository"] != "acme/app" || rec.Requester.Claims["exp"] != nil {
		t.Errorf("recorded claims %v", rec.Requester.Claims)
	}
	images, _, err := db.Images(t.Context(), store.ImageQuery{Readable: func(string) bool { return true }, Package: &store.Package{Name: "openssl", Version: "3.0.11"}})
	if err != nil || len(images) != 1 || images[0].Digest != imageDigest {
		t.Errorf("images with openssl: %+v, %v", images, err)
	}
}

func TestBuildNotRecorded(t *testing.T) {
	fs := &failingStore{DB: openTestStore(t)}
	b := &fakeBuilder{}
	e := newTestEnv(t, b, envConfig{opts: []Option{WithStore(fs)}})
	c := e.client(e.token)
	msgs, _, err := build(t.Context(), c, uploadedRequest(t, c))
	if err != nil {
		t.Fatalf("a build must succeed while the store is down: %v", err)
	}
	res := msgs[len(msgs)-1].GetResult()
	if !slices.Contains(res.GetWarnings(), notRecorded) {
		t.Errorf("warnings %q, want %q", res.GetWarnings(), notRecorded)
	}
	if fs.calls != recordAttempts {
		t.Errorf("%d attempts, want %d", fs.calls, recordAttempts)
	}
	if got := metricLines(t, e, "hallmark_store_builds_not_recorded_total"); len(got) != 1 || !strings.HasSuffix(got[0], " 1") {
		t.Errorf("metric %q", got)
	}
}

func TestFailedBuildRecorded(t *testing.T) {
	db := openTestStore(t)
	b := &fakeBuilder{err: errors.New("dockerfile: unknown instruction FORM")}
	e := newTestEnv(t, b, envConfig{opts: []Option{WithStore(db)}})
	c := e.client(e.token)
	if _, _, err := build(t.Context(), c, uploadedRequest(t, c)); err == nil {
		t.Fatal("build succeeded")
	}
	got, _, err := db.Builds(t.Context(), store.BuildQuery{Readable: func(string) bool { return true }})
	if err != nil || len(got) != 1 || got[0].Outcome != store.OutcomeFailed || got[0].Error == "" || got[0].Digest != "" {
		t.Fatalf("builds %+v, %v", got, err)
	}
	if imgs, _, _ := db.Images(t.Context(), store.ImageQuery{Readable: func(string) bool { return true }}); len(imgs) != 0 {
		t.Errorf("a failed build left images %+v", imgs)
	}
}

// decisionLog collects recorded decisions.
type decisionLog struct {
	mu  sync.Mutex
	got []store.Decision
}

func (l *decisionLog) Record(d store.Decision) { l.mu.Lock(); l.got = append(l.got, d); l.mu.Unlock() }

func TestVerifyDecisionRecorded(t *testing.T) {
	fv := &fakeVerifier{verdict: testVerdict()}
	dl := &decisionLog{}
	e := newTestEnv(t, &fakeBuilder{}, envConfig{opts: []Option{WithVerifier(fv), WithDecisionRecorder(dl)}})
	if _, err := e.verifyClient(e.token).Verify(t.Context(),
		connect.NewRequest(&hallmarkv1.VerifyRequest{Image: "registry.example.com/acme/app:v1"})); err != nil {
		t.Fatal(err)
	}
	if len(dl.got) != 1 {
		t.Fatalf("%d decisions recorded, want 1", len(dl.got))
	}
	d := dl.got[0]
	want := testVerdict()
	if d.Kind != store.KindVerify || d.Caller != e.issuer.url+" "+testSubject || d.Ref != "registry.example.com/acme/app:v1" ||
		d.Repository != "registry.example.com/acme/app" || d.Digest != want.Digest || d.Allowed || !d.Cached || d.Policy != "gateway-built" ||
		!slices.Equal(d.FailedRules, []string{"builders"}) || len(d.Reasons) != 1 || d.At.IsZero() {
		t.Errorf("decision %+v", d)
	}
}

// TestWorkerName: the record names the BuildKit daemon and the worker
// address it ran on, as much as is known.
func TestWorkerName(t *testing.T) {
	tests := []struct {
		bk   hallmark.BuildKitInfo
		want string
	}{
		{hallmark.BuildKitInfo{}, ""},
		{hallmark.BuildKitInfo{Version: "v0.34.2"}, "buildkitd v0.34.2"},
		{hallmark.BuildKitInfo{Address: "unix:///run/b.sock"}, "buildkitd at unix:///run/b.sock"},
		{hallmark.BuildKitInfo{Version: "v0.34.2", Revision: "abc", Address: "tcp://buildkitd-1.buildkitd.ns.svc:1234"}, "buildkitd v0.34.2 at tcp://buildkitd-1.buildkitd.ns.svc:1234"},
	}
	for _, tt := range tests {
		if got := workerName(tt.bk); got != tt.want {
			t.Errorf("workerName(%+v) = %q, want %q", tt.bk, got, tt.want)
		}
		if got := buildRecord(store.Build{}, &hallmark.BuildResult{BuildKit: tt.bk}, nil).Worker; got != tt.want {
			t.Errorf("record of a build on %+v names worker %q, want %q", tt.bk, got, tt.want)
		}
	}
}
