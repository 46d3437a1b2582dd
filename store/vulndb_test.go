package store

import (
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

func advisory(id string, modified time.Time, summary string) AdvisoryRecord {
	return AdvisoryRecord{ID: id, Modified: modified, JSON: fmt.Appendf(nil, `{"id":%q,"modified":%q,"summary":%q}`, id, modified.Format(time.RFC3339), summary)}
}

func allAdvisories(t *testing.T, db *DB, since int64) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := db.Advisories(t.Context(), since, func(id string, json []byte) error { out[id] = string(json); return nil }); err != nil {
		t.Fatalf("Advisories: %v", err)
	}
	return out
}

func TestRecordAdvisories(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	forEachStore(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		var first []AdvisoryRecord
		for i := range 1203 { // more than two batches
			first = append(first, advisory(fmt.Sprintf("GO-2026-%04d", i), t0, "one"))
		}
		imp := VulnImport{Source: "Go-all.zip", SHA256: "aa", NewestModified: t0, Actor: "dev alice", Warnings: []string{"w"}}
		got, err := db.RecordAdvisories(ctx, imp, first)
		if err != nil || got.ID == 0 || got.Changed != 1203 || got.Records != 1203 {
			t.Fatalf("RecordAdvisories = %+v, %v; want a new import changing 1203", got, err)
		}
		firstID := got.ID
		// The same file again changes nothing and adds no import.
		again, err := db.RecordAdvisories(ctx, imp, first)
		if err != nil || again.ID != 0 || again.Changed != 0 {
			t.Fatalf("RecordAdvisories again = %+v, %v; want no import, nothing changed", again, err)
		}
		// One newer, one older, one as old with other JSON, one new.
		second := []AdvisoryRecord{
			advisory("GO-2026-0000", t0.Add(time.Hour), "newer"),
			advisory("GO-2026-0001", t0.Add(-time.Hour), "older"),
			advisory("GO-2026-0002", t0, "tie"),
			advisory("GHSA-xxxx-yyyy-zzzz", t0, "new"),
			advisory("GO-2026-0003", t0, "one"),
		}
		got, err = db.RecordAdvisories(ctx, VulnImport{Source: "ghsa", SHA256: "bb", Actor: "dev bob"}, second)
		if err != nil || got.ID <= firstID || got.Changed != 3 {
			t.Fatalf("second RecordAdvisories = %+v, %v; want 3 changed", got, err)
		}
		all := allAdvisories(t, db, 0)
		if len(all) != 1204 {
			t.Errorf("Advisories(0) has %d records, want 1204", len(all))
		}
		newer := allAdvisories(t, db, firstID)
		want := map[string]string{"GO-2026-0000": string(second[0].JSON), "GO-2026-0002": string(second[2].JSON), "GHSA-xxxx-yyyy-zzzz": string(second[3].JSON)}
		if !maps.Equal(newer, want) {
			t.Errorf("Advisories(%d) = %v, want %v", firstID, newer, want)
		}
		imports, err := db.VulnImports(ctx)
		if err != nil || len(imports) != 2 {
			t.Fatalf("VulnImports = %+v, %v; want 2", imports, err)
		}
		if i := imports[0]; i.Source != "Go-all.zip" || i.Records != 1203 || i.Changed != 1203 || !i.NewestModified.Equal(t0) || i.Actor != "dev alice" || len(i.Warnings) != 1 || i.ImportedAt.IsZero() {
			t.Errorf("first import = %+v", i)
		}
		// Every import is in the events chain, the unchanged one too.
		if check, err := db.VerifyAudit(ctx); err != nil || len(check.Problems) != 0 || check.Chains[chainEvents].Length != 3 {
			t.Errorf("VerifyAudit = %+v, %v; want 3 vulndb records in the events chain", check, err)
		}
	})
}

func TestRecordAdvisoriesRefuses(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		for _, tt := range []struct {
			name    string
			imp     VulnImport
			records []AdvisoryRecord
		}{
			{"no source", VulnImport{SHA256: "aa"}, nil},
			{"no sha256", VulnImport{Source: "x"}, nil},
			{"not JSON", VulnImport{Source: "x", SHA256: "aa"}, []AdvisoryRecord{{ID: "A-1", JSON: []byte("{")}}},
			{"no id", VulnImport{Source: "x", SHA256: "aa"}, []AdvisoryRecord{{JSON: []byte("{}")}}},
		} {
			if _, err := db.RecordAdvisories(t.Context(), tt.imp, tt.records); !errors.Is(err, hallmark.ErrInvalid) {
				t.Errorf("%s: RecordAdvisories = %v, want ErrInvalid", tt.name, err)
			}
		}
		if imports, err := db.VulnImports(t.Context()); err != nil || len(imports) != 0 {
			t.Errorf("VulnImports = %v, %v; want none", imports, err)
		}
	})
}
