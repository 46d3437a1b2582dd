package osv

import (
	"errors"
	"strings"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// record is a valid record whose fields the tests replace with
// strings.Replace.
const record = `{
  "schema_version": "1.6.0",
  "id": "DSA-5514-1",
  "modified": "2023-10-03T12:00:00Z",
  "published": "2023-10-03T00:00:00Z",
  "aliases": [],
  "upstream": ["CVE-2023-4527", "CVE-2023-4911"],
  "summary": "glibc - security update",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"}],
  "affected": [{
    "package": {"ecosystem": "Debian:12", "name": "glibc", "purl": "pkg:deb/debian/glibc?arch=source"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u3"}]}],
    "versions": ["2.36-9", "2.36-9+deb12u1", "2.36-9+deb12u2"],
    "ecosystem_specific": {"urgency": "high"}
  }],
  "database_specific": {"severity": "HIGH", "source": "https://example.invalid"},
  "x_unknown_field": [1, 2, {"deep": true}]
}`

func TestParse(t *testing.T) {
	r, warnings, err := Parse([]byte(record))
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Parse = %v, %v", warnings, err)
	}
	want := Record{
		SchemaVersion: "1.6.0", ID: "DSA-5514-1",
		Modified:  time.Date(2023, 10, 3, 12, 0, 0, 0, time.UTC),
		Published: time.Date(2023, 10, 3, 0, 0, 0, 0, time.UTC),
		Aliases:   []string{}, Upstream: []string{"CVE-2023-4527", "CVE-2023-4911"},
		Summary:  "glibc - security update",
		Severity: []Severity{{Type: SeverityCVSSv3, Score: "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"}},
		Affected: []Affected{{
			Ecosystem: "Debian:12", Name: "glibc", PURL: "pkg:deb/debian/glibc?arch=source",
			Ranges:   []Range{{Type: RangeEcosystem, Events: []Event{{Introduced, "0"}, {Fixed, "2.36-9+deb12u3"}}}},
			Versions: []string{"2.36-9", "2.36-9+deb12u1", "2.36-9+deb12u2"},
		}},
		DatabaseSeverity: "HIGH",
	}
	if got, exp := dump(r), dump(want); got != exp {
		t.Errorf("Parse =\n%s\nwant\n%s", got, exp)
	}
	if r.IsWithdrawn() {
		t.Error("IsWithdrawn of a standing record")
	}
}

func TestParseWarnings(t *testing.T) {
	in := strings.Replace(record, `"type": "ECOSYSTEM"`, `"type": "DATE"`, 1)
	r, warnings, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `range type "DATE" is not evaluated`) || !strings.Contains(warnings[0], "DSA-5514-1") {
		t.Errorf("warnings = %q", warnings)
	}
	if len(r.Affected[0].Ranges) != 1 || r.Affected[0].Ranges[0].Type != "DATE" {
		t.Errorf("the unknown range is not kept: %+v", r.Affected[0].Ranges)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, old, new string
		want           error
		text           string
	}{
		{"not json", `{`, `[`, hallmark.ErrInvalid, "malformed JSON"},
		{"trailing", `"x_unknown_field"`, `"x": 1}{"y"`, hallmark.ErrInvalid, "not an OSV record"},
		{"id type", `"id": "DSA-5514-1"`, `"id": 5514`, hallmark.ErrInvalid, "not a string"},
		{"no id", `"id": "DSA-5514-1",`, ``, hallmark.ErrInvalid, "not an OSV identifier"},
		{"id path", `"id": "DSA-5514-1"`, `"id": "../../etc/passwd"`, hallmark.ErrInvalid, "not an OSV identifier"},
		{"id space", `"id": "DSA-5514-1"`, `"id": "DSA 5514"`, hallmark.ErrInvalid, "not an OSV identifier"},
		{"id long", `"id": "DSA-5514-1"`, `"id": "DSA-` + strings.Repeat("1", 200) + `"`, hallmark.ErrInvalid, "not an OSV identifier"},
		{"alias", `"aliases": []`, `"aliases": ["CVE 1"]`, hallmark.ErrInvalid, "aliases[0]"},
		{"upstream", `"CVE-2023-4527"`, `"<script>"`, hallmark.ErrInvalid, "upstream[0]"},
		{"no modified", `"modified": "2023-10-03T12:00:00Z",`, ``, hallmark.ErrInvalid, "no modified time"},
		{"bad modified", `2023-10-03T12:00:00Z`, `yesterday`, hallmark.ErrInvalid, "not an RFC 3339 time"},
		{"bad withdrawn", `"published"`, `"withdrawn": "soon", "published"`, hallmark.ErrInvalid, "withdrawn"},
		{"severity", `"type": "CVSS_V3", `, ``, hallmark.ErrInvalid, "severity[0] has no type"},
		{"no name", `"name": "glibc", `, ``, hallmark.ErrInvalid, "without an ecosystem or a name"},
		{"control", `"name": "glibc"`, `"name": "gli\nbc"`, hallmark.ErrInvalid, "package name"},
		{"no type", `"type": "ECOSYSTEM", `, ``, hallmark.ErrInvalid, "ranges[0] has no type"},
		{"no events", `"events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u3"}]`, `"events": []`, hallmark.ErrInvalid, "has no events"},
		{"two keys", `{"introduced": "0"}`, `{"introduced": "0", "fixed": "1"}`, hallmark.ErrInvalid, "events[0] has 2"},
		{"no key", `{"introduced": "0"}`, `{"introducd": "0"}`, hallmark.ErrInvalid, "events[0] has 0"},
		{"empty version", `{"introduced": "0"}`, `{"introduced": ""}`, hallmark.ErrInvalid, "empty introduced version"},
		{"event type", `{"introduced": "0"}`, `{"introduced": 0}`, hallmark.ErrInvalid, "not a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(record, tc.old, tc.new, 1)
			if in == record {
				t.Fatalf("%q is not in the record", tc.old)
			}
			_, _, err := Parse([]byte(in))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Parse error = %v, want %v containing %q", err, tc.want, tc.text)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	if _, _, err := Parse([]byte(record), WithMaxRecordBytes(100)); !errors.Is(err, hallmark.ErrTooLarge) {
		t.Errorf("Parse over the limit: %v, want ErrTooLarge", err)
	}
	if _, _, err := Parse([]byte(record), WithMaxRecordBytes(0)); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("WithMaxRecordBytes(0): %v, want ErrInvalid", err)
	}
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	in := strings.Replace(record, `[1, 2, {"deep": true}]`, deep, 1)
	if _, _, err := Parse([]byte(in)); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("Parse of deeply nested JSON: %v, want ErrInvalid", err)
	}
}

func TestParseOptional(t *testing.T) {
	// A withdrawn record without affected packages, and osv.dev's CVE
	// records, whose affected entries have only GIT ranges and no package.
	in := `{"id": "CVE-2024-1", "modified": "2024-01-01T00:00:00.123456Z", "withdrawn": "2024-02-01T00:00:00Z",
	  "affected": [{"ranges": [{"type": "GIT", "repo": "https://example.invalid/r", "events": [{"introduced": "0"}, {"limit": "*"}]}]}],
	  "database_specific": "not an object"}`
	r, warnings, err := Parse([]byte(in))
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Parse = %v, %v", warnings, err)
	}
	if !r.IsWithdrawn() || r.Affected[0].Ecosystem != "" || r.Affected[0].Ranges[0].Events[1] != (Event{Limit, "*"}) || r.DatabaseSeverity != "" {
		t.Errorf("Parse = %+v", r)
	}
}
