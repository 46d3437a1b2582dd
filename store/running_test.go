package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// running is build id of repo, recorded as running since t0+n minutes.
func running(id, repo string, n int) *Build {
	b := build(id, repo, "v1", "", n)
	b.Outcome, b.Attestations, b.Finished = OutcomeRunning, nil, time.Time{}
	b.Progress = &Progress{Phase: PhaseQueued, Queue: 2, Updated: b.Started}
	return b
}

func TestRunningBuilds(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		b := running("r1", "reg.example/app", 0)
		if err := db.StartBuild(ctx, b); err != nil {
			t.Fatal(err)
		}
		b.Progress = &Progress{Phase: PhaseBuilding, Step: "[2/3] RUN make", Done: 4, Total: 7, Updated: b.Started.Add(time.Second)}
		if err := db.UpdateProgress(ctx, b); err != nil {
			t.Fatal(err)
		}
		got, err := db.Build(ctx, "r1")
		if err != nil || got.Outcome != OutcomeRunning || got.Progress == nil || got.Progress.Step != "[2/3] RUN make" || got.Progress.Done != 4 {
			t.Fatalf("running build: %+v, %v", got, err)
		}
		list, _, err := db.Builds(ctx, BuildQuery{Readable: all})
		if err != nil || len(list) != 1 || list[0].Outcome != OutcomeRunning {
			t.Fatalf("builds list: %+v, %v", list, err)
		}
		if ev, _, err := db.Audit(ctx, AuditQuery{Readable: all}); err != nil || len(ev) != 0 {
			t.Errorf("a running build has audit records: %+v, %v", ev, err)
		}
		if err := db.RecordBuild(ctx, build("s1", "reg.example/app", "v0", digest("0"), 1)); err != nil {
			t.Fatal(err)
		}
		for outcome, want := range map[string]string{OutcomeRunning: "r1", OutcomeSucceeded: "s1", OutcomeFailed: ""} {
			got, _, err := db.Builds(ctx, BuildQuery{Readable: all, Outcome: outcome})
			if err != nil || (want == "") != (len(got) == 0) || (want != "" && (len(got) != 1 || got[0].ID != want)) {
				t.Errorf("builds %s: %+v, %v; want %q", outcome, got, err, want)
			}
		}
		if _, _, err := db.Builds(ctx, BuildQuery{Readable: all, Outcome: "maybe"}); !errors.Is(err, hallmark.ErrInvalid) {
			t.Errorf("unknown outcome: %v", err)
		}

		// It finishes: the record replaces the running one, and a late
		// start or progress write changes nothing.
		done := build("r1", "reg.example/app", "v1", digest("1"), 0)
		if err := db.RecordBuild(ctx, done); err != nil {
			t.Fatal(err)
		}
		if err := db.StartBuild(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := db.UpdateProgress(ctx, b); err != nil {
			t.Fatal(err)
		}
		got, err = db.Build(ctx, "r1")
		if err != nil || got.Outcome != OutcomeSucceeded || got.Progress != nil || got.Digest != digest("1") {
			t.Fatalf("finished build after late writes: %+v, %v", got, err)
		}
		if d, err := db.Tag(ctx, "reg.example/app", "v1"); err != nil || d != digest("1") {
			t.Errorf("tag v1 -> %s, %v", d, err)
		}
	})
}

func TestAbandonBuilds(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		old, young := running("old", "reg.example/app", 0), running("young", "reg.example/app", 60)
		for _, b := range []*Build{old, young} {
			if err := db.StartBuild(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		const reason = "unavailable: the gateway running this build stopped before it ended"
		n, err := db.AbandonBuilds(ctx, t0.Add(30*time.Minute), reason)
		if err != nil || n != 1 {
			t.Fatalf("abandoned %d, %v; want 1", n, err)
		}
		got, err := db.Build(ctx, "old")
		if err != nil || got.Outcome != OutcomeFailed || got.Error != reason || got.Progress != nil || got.Finished.IsZero() || len(got.Tags) != 0 {
			t.Fatalf("abandoned build: %+v, %v", got, err)
		}
		if got, err := db.Build(ctx, "young"); err != nil || got.Outcome != OutcomeRunning {
			t.Fatalf("young build: %+v, %v", got, err)
		}
		if n, err := db.AbandonBuilds(ctx, t0.Add(30*time.Minute), reason); err != nil || n != 0 {
			t.Errorf("second sweep ended %d, %v; want 0", n, err)
		}
		ev, _, err := db.Audit(ctx, AuditQuery{Readable: all})
		if err != nil || len(ev) != 1 || ev[0].Subject != "old" || ev[0].Outcome != OutcomeFailed || !strings.Contains(string(ev[0].Detail), "stopped before") {
			t.Fatalf("audit of the abandoned build: %+v, %v", ev, err)
		}
		if c, err := db.VerifyAudit(ctx); err != nil || len(c.Problems) != 0 {
			t.Errorf("audit chain: %+v, %v", c, err)
		}
	})
}

func TestBuildsByID(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		fixture(t, db)
		got, err := db.BuildsByID(ctx, []string{"a1", "c1", "nope"}, func(r string) bool { return strings.Contains(r, "team-a") })
		if err != nil || len(got) != 1 || got[0].ID != "a1" {
			t.Fatalf("BuildsByID: %+v, %v; want a1 only", got, err)
		}
		if got, err := db.BuildsByID(ctx, []string{"a1"}, nil); err != nil || len(got) != 0 {
			t.Errorf("nil readable: %+v, %v", got, err)
		}
		if _, err := db.BuildsByID(ctx, make([]string, maxBuildsByID+1), all); !errors.Is(err, hallmark.ErrInvalid) {
			t.Errorf("too many ids: %v", err)
		}
	})
}

func TestRunningRejects(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		long := running("x", "reg.example/app", 0)
		long.Progress.Step = strings.Repeat("s", maxStep+1)
		imp := running("x", "reg.example/app", 0)
		imp.Kind = KindImport
		for _, c := range []struct {
			b    *Build
			want error
		}{
			{&Build{Kind: KindBuild, Outcome: OutcomeRunning}, hallmark.ErrInvalid},
			{build("x", "reg.example/app", "v1", digest("1"), 0), hallmark.ErrInvalid},
			{imp, hallmark.ErrInvalid},
			{long, hallmark.ErrTooLarge},
		} {
			if err := db.StartBuild(t.Context(), c.b); !errors.Is(err, c.want) {
				t.Errorf("StartBuild %s/%s: %v, want %v", c.b.Kind, c.b.Outcome, err, c.want)
			}
			if err := db.UpdateProgress(t.Context(), c.b); !errors.Is(err, c.want) {
				t.Errorf("UpdateProgress %s/%s: %v, want %v", c.b.Kind, c.b.Outcome, err, c.want)
			}
		}
		if err := db.RecordBuild(t.Context(), running("x", "reg.example/app", 0)); !errors.Is(err, hallmark.ErrInvalid) {
			t.Errorf("RecordBuild of a running build: %v, want ErrInvalid", err)
		}
	})
}
