package server

import (
	"bytes"
	"context"
	"testing"

	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/vuln/osv"
)

// memVulnStore is an in-memory VulnStore: the last import's records.
type memVulnStore struct {
	imports []store.VulnImport
	records map[string][]byte
}

func (m *memVulnStore) RecordAdvisories(_ context.Context, imp store.VulnImport, records []store.AdvisoryRecord) (store.VulnImport, error) {
	imp.ID, imp.Records, imp.Changed = int64(len(m.imports)+1), len(records), len(records)
	m.imports = append(m.imports, imp)
	for _, r := range records {
		m.records[r.ID] = r.JSON
	}
	return imp, nil
}

func (m *memVulnStore) Advisories(_ context.Context, _ int64, fn func(string, []byte) error) error {
	for id, data := range m.records {
		if err := fn(id, data); err != nil {
			return err
		}
	}
	return nil
}

func (m *memVulnStore) VulnImports(context.Context) ([]store.VulnImport, error) {
	return m.imports, nil
}

// FuzzVulnImport: a file is imported whole or not at all, and every
// record stored is its JSON as imported, which parses again to the same
// id.
func FuzzVulnImport(f *testing.F) {
	f.Add([]byte(`{"id":"GO-2026-0001","modified":"2026-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"}]}]}]}`))
	f.Add([]byte(`{"id":"A-1","modified":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Add([]byte(`{"id":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st := &memVulnStore{records: map[string][]byte{}}
		l, err := NewVulnLoader(t.Context(), st, WithVulnMaxImportBytes(1<<20))
		if err != nil {
			t.Fatal(err)
		}
		imp, err := l.Import(t.Context(), "fuzz", "fuzz.json", bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if len(st.imports) != 0 || len(st.records) != 0 || l.DB() != nil {
				t.Fatalf("a refused import changed the store or the DB: %v", err)
			}
			return
		}
		if imp.Records != len(st.records) || (l.DB() == nil) != (imp.Records == 0) {
			t.Fatalf("import %+v stored %d records", imp, len(st.records))
		}
		for id, json := range st.records {
			r, _, err := osv.Parse(json)
			if err != nil || r.ID != id {
				t.Fatalf("stored record %s does not parse back: %v", id, err)
			}
		}
	})
}
