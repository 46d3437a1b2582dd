package server

import (
	"context"
	"strings"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

func allRepos(string) bool { return true }

// waitBuild polls the store until a build satisfies ok.
func waitBuild(t *testing.T, db *store.DB, what string, ok func(store.Build) bool) store.Build {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _, err := db.Builds(t.Context(), store.BuildQuery{Readable: allRepos})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 && ok(got[0]) {
			return got[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no build %s: %+v", what, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunningBuildRecorded: a build is in the store while it runs, with
// its phase and steps, and its end replaces that record.
func TestRunningBuildRecorded(t *testing.T) {
	db := openTestStore(t)
	b := &fakeBuilder{block: true}
	e := newTestEnv(t, b, envConfig{opts: []Option{WithStore(db)}})
	c := e.client(e.token)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, _, err := build(ctx, c, uploadedRequest(t, c))
		done <- err
	}()
	run := waitBuild(t, db, "running with its steps", func(b store.Build) bool {
		return b.Outcome == store.OutcomeRunning && b.Progress != nil && b.Progress.Total == 1
	})
	if p := run.Progress; p.Phase != store.PhaseBuilding || p.Done != 1 || run.Repository != testRepo || run.Requester.Subject != testSubject || len(run.Tags) != 0 || run.Started.IsZero() {
		t.Errorf("running record %+v, progress %+v", run, p)
	}
	if ev, _, err := db.Audit(t.Context(), store.AuditQuery{Readable: allRepos}); err != nil || len(ev) != 0 {
		t.Errorf("audit records of a running build: %+v, %v", ev, err)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("canceled build succeeded")
	}
	end := waitBuild(t, db, "canceled", func(b store.Build) bool { return b.Outcome == store.OutcomeCanceled })
	if end.ID != run.ID || end.Progress != nil {
		t.Errorf("ended record %+v", end)
	}
}

func TestLiveRecordObserve(t *testing.T) {
	t0 := time.Now()
	l := &liveRecord{rec: store.Build{Progress: &store.Progress{Phase: store.PhaseQueued}}, vertices: map[string]bool{}, wake: make(chan struct{}, 1)}
	l.observe(hallmark.Event{Accepted: &hallmark.Accepted{QueuePosition: 2}})
	if p := l.rec.Progress; p.Phase != store.PhaseQueued || p.Queue != 2 {
		t.Fatalf("queued: %+v", p)
	}
	long := strings.Repeat("é", maxStepName)
	l.observe(hallmark.Event{Status: &hallmark.SolveStatus{Vertexes: []hallmark.Vertex{
		{Digest: "a", Name: "[1/3] FROM base", Started: &t0, Completed: &t0},
		{Digest: "b", Name: long, Started: &t0},
		{Digest: "c", Name: "[3/3] COPY . ."},
	}}})
	p := l.rec.Progress
	if p.Phase != store.PhaseBuilding || p.Queue != 0 || p.Done != 1 || p.Total != 3 || len(p.Step) > maxStepName || !strings.HasSuffix(p.Step, "…") {
		t.Fatalf("building: %+v", p)
	}
	// A vertex seen again completes; one never goes back to running.
	l.observe(hallmark.Event{Status: &hallmark.SolveStatus{Vertexes: []hallmark.Vertex{
		{Digest: "b", Name: long, Started: &t0, Completed: &t0},
		{Digest: "a", Name: "[1/3] FROM base", Started: &t0},
	}}})
	if p.Done != 2 || p.Total != 3 {
		t.Errorf("after completion: %+v", p)
	}
	l.phase(store.PhaseAttesting)
	if p.Phase != store.PhaseAttesting || p.Step != "" {
		t.Errorf("attesting: %+v", p)
	}
	var nilLive *liveRecord
	nilLive.observe(hallmark.Event{})
	nilLive.phase(store.PhaseTagging)
	nilLive.end()
}

// TestEndAbandonedBuilds: a build left running past the timeout (its
// replica stopped) is ended as failed; a recent one is left alone.
func TestEndAbandonedBuilds(t *testing.T) {
	db := openTestStore(t)
	e := newTestEnv(t, &fakeBuilder{}, envConfig{opts: []Option{WithStore(db), WithBuildTimeout(time.Minute)}})
	for id, started := range map[string]time.Time{"old": time.Now().Add(-2 * time.Hour), "new": time.Now()} {
		if err := db.StartBuild(t.Context(), &store.Build{ID: id, Kind: store.KindBuild, Repository: testRepo, Outcome: store.OutcomeRunning, Started: started}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go e.server.EndAbandonedBuilds(ctx, 10*time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for {
		old, err := db.Build(t.Context(), "old")
		if err != nil {
			t.Fatal(err)
		}
		if old.Outcome == store.OutcomeFailed {
			if old.Error != abandonedReason {
				t.Errorf("error %q", old.Error)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("old build still %s", old.Outcome)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if b, err := db.Build(t.Context(), "new"); err != nil || b.Outcome != store.OutcomeRunning {
		t.Errorf("new build: %+v, %v", b, err)
	}
}
