package store

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// push is a registry event: a manifest of repo pushed with tag (or by
// digest when tag is empty) by actor.
func push(id, repo, tag string, d hallmark.Digest, actor string) RegistryEvent {
	return RegistryEvent{
		ID: id, At: t0.Add(time.Hour), Kind: KindPush, Actor: actor, Addr: "10.0.0.7:41000", Repository: repo, Digest: d, Tag: tag,
		MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 512, Method: "PUT", UserAgent: "crane/0.20", Instance: "i-1",
	}
}

// subjects lists "repository:subject" of each record.
func subjects(events []Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Repository+":"+e.Subject)
	}
	return out
}

func TestRegistryEvents(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		fixture(t, db)
		ctx := t.Context()
		app := "reg.example/team-a/app"
		fallback := "sha256-" + digest("7").Hex()
		events := []RegistryEvent{
			push("e1", app, "v1", digest("a"), "ci"),                                   // the gateway's own tag move: a recorded image
			push("e2", app, "hotfix", digest("9"), "alice"),                            // around the gateway
			push("e3", app, "", digest("8"), "alice"),                                  // by digest: no tag to deploy
			push("e4", app, fallback, digest("7"), "cosign"),                           // referrers tag schema
			push("e5", app, fallback+".sig", digest("6"), "cosign"),                    // cosign's signature tag
			push("e6", app, "att", digest("aa1"), "ci"),                                // an attestation's referrer manifest of app
			push("e7", "reg.example/other/app", "att", digest("aa1"), "bob"),           // the same manifest elsewhere
			push("e8", "reg.example/other/app", "v1", digest("a"), "bob"),              // a recorded image, copied elsewhere
			push("e9", app, "sha256-"+strings.Repeat("z", 64), digest("5"), "mallory"), // looks like a fallback tag, is not
			{ID: "e10", Kind: KindPull, Addr: "10.0.0.8:5000", Repository: app, Digest: digest("a"), Tag: "v1", MediaType: "application/vnd.oci.image.index.v1+json", Method: "GET", UserAgent: "containerd/2.0"},
			{ID: "e11", Kind: KindDelete, Actor: "alice", Repository: app, Tag: "hotfix"},
			push("e2", app, "hotfix", digest("9"), "alice"), // a retry within one envelope
		}
		if err := db.RecordRegistryEvents(ctx, events); err != nil {
			t.Fatal(err)
		}
		// The registry retries what it sent.
		if err := db.RecordRegistryEvents(ctx, events[:3]); err != nil {
			t.Fatal(err)
		}
		got, _, err := db.Audit(ctx, AuditQuery{Readable: all, Kinds: []string{KindPush, KindPull, KindDelete}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 11 {
			t.Fatalf("%d registry records, want 11 (each event once): %q", len(got), subjects(got))
		}
		pull := got[9]
		var detail RegistryEventDetail
		if err := json.Unmarshal(pull.Detail, &detail); err != nil {
			t.Fatal(err)
		}
		if pull.Kind != KindPull || pull.Actor != "10.0.0.8:5000" || pull.Subject != "v1" || pull.Digest != digest("a") || pull.At.IsZero() ||
			detail != (RegistryEventDetail{MediaType: "application/vnd.oci.image.index.v1+json", Tag: "v1", Method: "GET", UserAgent: "containerd/2.0", Addr: "10.0.0.8:5000", EventID: "e10"}) {
			t.Errorf("anonymous pull recorded as %+v, detail %+v", pull, detail)
		}
		if del := got[10]; del.Kind != KindDelete || del.Actor != "alice" || del.Digest != "" || del.Subject != "hotfix" {
			t.Errorf("tag deletion recorded as %+v", del)
		}
		if got[0].At != t0.Add(time.Hour) || got[0].Actor != "ci" {
			t.Errorf("push recorded as %+v", got[0])
		}

		unattested := func(readable func(string) bool) []string {
			t.Helper()
			got, _, err := db.Audit(ctx, AuditQuery{Readable: readable, Kinds: []string{KindPush}, UnattestedPushes: true})
			if err != nil {
				t.Fatal(err)
			}
			return subjects(got)
		}
		want := []string{app + ":hotfix", "reg.example/other/app:att", "reg.example/other/app:v1", app + ":sha256-" + strings.Repeat("z", 64)}
		if got := unattested(all); !slices.Equal(got, want) {
			t.Errorf("unattested pushes %q, want %q", got, want)
		}
		teamA := func(r string) bool { return strings.HasPrefix(r, "reg.example/team-a/") }
		if got := unattested(teamA); !slices.Equal(got, []string{want[0], want[3]}) {
			t.Errorf("unattested pushes team-a may read: %q", got)
		}
		// The answer is computed when asked: once the gateway records a
		// build of that digest, its push is no longer unattested.
		if err := db.RecordBuild(ctx, build("h1", app, "hotfix", digest("9"), 9)); err != nil {
			t.Fatal(err)
		}
		if got := unattested(all); !slices.Equal(got, want[1:]) {
			t.Errorf("after the build of hotfix: %q, want %q", got, want[1:])
		}
		if got, _, err := db.Audit(ctx, AuditQuery{Readable: all, Kinds: []string{KindPull}, UnattestedPushes: true}); err != nil || len(got) != 0 {
			t.Errorf("unattested pushes among pulls: %q, %v", subjects(got), err)
		}
		check, err := db.VerifyAudit(ctx)
		if err != nil || len(check.Problems) != 0 {
			t.Errorf("audit log after registry events: %+v, %v", check, err)
		}
	})
}

func TestRegistryEventsRejects(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		ok := push("ok", "reg.example/app", "v1", digest("1"), "alice")
		tests := []struct {
			name string
			edit func(*RegistryEvent)
		}{
			{"no id", func(e *RegistryEvent) { e.ID = "" }},
			{"huge id", func(e *RegistryEvent) { e.ID = strings.Repeat("x", maxEventIDBytes+1) }},
			{"mount", func(e *RegistryEvent) { e.Kind = "mount" }},
			{"a build", func(e *RegistryEvent) { e.Kind = KindBuild }},
			{"no registry", func(e *RegistryEvent) { e.Repository = "app" }},
			{"push without digest", func(e *RegistryEvent) { e.Digest = "" }},
			{"deletion of nothing", func(e *RegistryEvent) { e.Kind, e.Digest, e.Tag = KindDelete, "", "" }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				bad := ok
				tt.edit(&bad)
				if err := db.RecordRegistryEvents(t.Context(), []RegistryEvent{ok, bad}); !errors.Is(err, hallmark.ErrInvalid) {
					t.Errorf("error %v, want ErrInvalid", err)
				}
			})
		}
		if got, _, err := db.Audit(t.Context(), AuditQuery{Readable: all}); err != nil || len(got) != 0 {
			t.Errorf("a refused batch recorded %q, %v", subjects(got), err)
		}
		if err := db.RecordRegistryEvents(t.Context(), nil); err != nil {
			t.Errorf("no events: %v", err)
		}
	})
}

// TestMigrateToRegistryEvents: a store written by a gateway of schema
// version 1 gains the registry events table at the next start and keeps
// its records.
func TestMigrateToRegistryEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	ctx := t.Context()
	shipped := migrations
	migrations = migrations[:1]
	db, err := Open(ctx, DriverSQLite, path)
	migrations = shipped
	if err != nil {
		t.Fatal(err)
	}
	fixture(t, db)
	db.Close()
	if db, err = Open(ctx, DriverSQLite, path); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.RecordRegistryEvents(ctx, []RegistryEvent{push("e1", "reg.example/team-a/app", "x", digest("9"), "alice")}); err != nil {
		t.Fatal(err)
	}
	got, _, err := db.Audit(ctx, AuditQuery{Readable: all, UnattestedPushes: true})
	if err != nil || len(got) != 1 {
		t.Errorf("unattested pushes after the migration: %q, %v", subjects(got), err)
	}
	if check, err := db.VerifyAudit(ctx); err != nil || len(check.Problems) != 0 || check.Chains[chainEvents].Length != 12 {
		t.Errorf("audit log after the migration: %+v, %v", check, err)
	}
}
