package osv

import (
	"bytes"
	"testing"
)

// FuzzParse parses arbitrary bytes as a record: never a panic, and a
// record that parses has a valid id.
func FuzzParse(f *testing.F) {
	f.Add([]byte(record))
	f.Add(minimal("GO-2024-0001"))
	f.Add([]byte(`{"id": "CVE-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"ranges": [{"type": "GIT", "events": [{"limit": "*"}]}]}]}`))
	f.Add([]byte(`{"id": "A-1", "modified": "2024-01-01T00:00:00Z", "database_specific": {"severity": 5}, "severity": [{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, _, err := Parse(data, WithMaxRecordBytes(64<<10))
		if err == nil && !validID(r.ID) {
			t.Errorf("Parse accepted id %q", r.ID)
		}
	})
}

// FuzzImportReader imports arbitrary bytes as a file or an archive, with
// small limits: never a panic, and all or nothing.
func FuzzImportReader(f *testing.F) {
	f.Add(archive(f, entry{name: "GO-1.json", data: minimal("GO-1")}, entry{name: "d/GO-2.json", data: minimal("GO-2")}))
	f.Add(archive(f, bomb(f, "GO-2.json", 64<<10)))
	f.Add(archive(f))
	f.Add(minimal("GO-1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		records, info, err := ImportReader(t.Context(), "fuzz.zip", bytes.NewReader(data), int64(len(data)),
			WithMaxRecords(16), WithMaxRecordBytes(32<<10), WithMaxTotalBytes(128<<10))
		if err != nil && records != nil {
			t.Errorf("an error (%v) with %d records", err, len(records))
		}
		if err == nil && info.Records != len(records) {
			t.Errorf("info.Records = %d, %d records", info.Records, len(records))
		}
	})
}
