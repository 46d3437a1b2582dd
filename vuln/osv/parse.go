package osv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Limits on the strings of a record, far above what any database writes.
const (
	maxIDBytes        = 128
	maxEcosystemBytes = 256
	maxNameBytes      = 1024
)

// wire types mirror the JSON of the OSV schema; fields the schema does not
// define are ignored.
type (
	wireRecord struct {
		SchemaVersion    string          `json:"schema_version"`
		ID               string          `json:"id"`
		Modified         string          `json:"modified"`
		Published        string          `json:"published"`
		Withdrawn        string          `json:"withdrawn"`
		Aliases          []string        `json:"aliases"`
		Upstream         []string        `json:"upstream"`
		Related          []string        `json:"related"`
		Summary          string          `json:"summary"`
		Details          string          `json:"details"`
		Severity         []wireSeverity  `json:"severity"`
		Affected         []wireAffected  `json:"affected"`
		DatabaseSpecific json.RawMessage `json:"database_specific"`
	}
	wireSeverity struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	}
	wireAffected struct {
		Package  *wirePackage   `json:"package"`
		Severity []wireSeverity `json:"severity"`
		Ranges   []wireRange    `json:"ranges"`
		Versions []string       `json:"versions"`
	}
	wirePackage struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
		PURL      string `json:"purl"`
	}
	wireRange struct {
		Type   string      `json:"type"`
		Repo   string      `json:"repo"`
		Events []wireEvent `json:"events"`
	}
	wireEvent struct {
		Introduced   *string `json:"introduced"`
		Fixed        *string `json:"fixed"`
		LastAffected *string `json:"last_affected"`
		Limit        *string `json:"limit"`
	}
)

// Parse parses one OSV record. A record that is not JSON, is over the
// record size limit, lacks an id or a modified time, has an id that is not
// a plain identifier, or breaks the schema's rules for packages, ranges
// and events is an error wrapping hallmark.ErrInvalid (hallmark.ErrTooLarge
// for the size). The warnings name what is kept but will not be
// evaluated: ranges of a type the schema does not define.
func Parse(data []byte, opts ...Option) (Record, []string, error) {
	o, err := newOptions(opts)
	if err != nil {
		return Record{}, nil, err
	}
	return parse(data, o.maxRecordBytes)
}

func parse(data []byte, maxBytes int64) (Record, []string, error) {
	if int64(len(data)) > maxBytes {
		return Record{}, nil, fmt.Errorf("%w: record of %d bytes (at most %d)", hallmark.ErrTooLarge, len(data), maxBytes)
	}
	var w wireRecord
	if err := json.Unmarshal(data, &w); err != nil {
		return Record{}, nil, fmt.Errorf("%w: not an OSV record: %s", hallmark.ErrInvalid, jsonError(err))
	}
	if !validID(w.ID) {
		return Record{}, nil, fmt.Errorf("%w: record id %q is not an OSV identifier", hallmark.ErrInvalid, hallmark.Clip(w.ID, 64))
	}
	r, warnings, err := convert(&w)
	if err != nil {
		return Record{}, nil, fmt.Errorf("%w: record %s: %w", hallmark.ErrInvalid, w.ID, err)
	}
	return r, warnings, nil
}

// jsonError describes a decoding error without quoting the input.
func jsonError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s is a JSON %s, not a %s", hallmark.Clip(typ.Field, 64), typ.Value, typ.Type)
	}
	return hallmark.Clip(err.Error(), 128)
}

func convert(w *wireRecord) (Record, []string, error) {
	r := Record{
		SchemaVersion: w.SchemaVersion, ID: w.ID,
		Summary: w.Summary, Details: w.Details,
	}
	var err error
	if w.Modified == "" {
		return r, nil, errors.New("no modified time")
	}
	if r.Modified, err = timestamp("modified", w.Modified); err != nil {
		return r, nil, err
	}
	if r.Published, err = timestamp("published", w.Published); err != nil {
		return r, nil, err
	}
	if r.Withdrawn, err = timestamp("withdrawn", w.Withdrawn); err != nil {
		return r, nil, err
	}
	for _, ids := range []struct {
		field string
		in    []string
		out   *[]string
	}{{"aliases", w.Aliases, &r.Aliases}, {"upstream", w.Upstream, &r.Upstream}, {"related", w.Related, &r.Related}} {
		for i, id := range ids.in {
			if !validID(id) {
				return r, nil, fmt.Errorf("%s[%d] %q is not an OSV identifier", ids.field, i, hallmark.Clip(id, 64))
			}
		}
		*ids.out = ids.in
	}
	if r.Severity, err = severities("severity", w.Severity); err != nil {
		return r, nil, err
	}
	r.DatabaseSeverity = databaseSeverity(w.DatabaseSpecific)
	var warnings []string
	r.Affected = make([]Affected, 0, len(w.Affected))
	for i := range w.Affected {
		a, warn, err := affected(w.ID, i, &w.Affected[i])
		if err != nil {
			return r, nil, err
		}
		warnings = append(warnings, warn...)
		r.Affected = append(r.Affected, a)
	}
	return r, warnings, nil
}

func timestamp(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time", field, hallmark.Clip(s, 64))
	}
	return t.UTC(), nil
}

func severities(field string, in []wireSeverity) ([]Severity, error) {
	var out []Severity
	for i, s := range in {
		if s.Type == "" || s.Score == "" {
			return nil, fmt.Errorf("%s[%d] has no type or no score", field, i)
		}
		out = append(out, Severity(s))
	}
	return out, nil
}

// databaseSeverity returns database_specific.severity when it is a string.
func databaseSeverity(raw json.RawMessage) string {
	if len(raw) == 0 || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return ""
	}
	var ds struct {
		Severity json.RawMessage `json:"severity"`
	}
	if json.Unmarshal(raw, &ds) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(ds.Severity, &s) != nil || len(s) > 64 {
		return ""
	}
	return s
}

func affected(id string, i int, w *wireAffected) (Affected, []string, error) {
	var a Affected
	if p := w.Package; p != nil {
		switch {
		case p.Ecosystem == "" || p.Name == "":
			return a, nil, fmt.Errorf("affected[%d] has a package without an ecosystem or a name", i)
		case len(p.Ecosystem) > maxEcosystemBytes || !printable(p.Ecosystem):
			return a, nil, fmt.Errorf("affected[%d] ecosystem %q is not a plain string of at most %d bytes", i, hallmark.Clip(p.Ecosystem, 64), maxEcosystemBytes)
		case len(p.Name) > maxNameBytes || !printable(p.Name):
			return a, nil, fmt.Errorf("affected[%d] package name %q is not a plain string of at most %d bytes", i, hallmark.Clip(p.Name, 64), maxNameBytes)
		}
		a.Ecosystem, a.Name, a.PURL = p.Ecosystem, p.Name, p.PURL
	}
	var err error
	if a.Severity, err = severities(fmt.Sprintf("affected[%d].severity", i), w.Severity); err != nil {
		return a, nil, err
	}
	for _, v := range w.Versions {
		if v != "" {
			a.Versions = append(a.Versions, v)
		}
	}
	var warnings []string
	for j, wr := range w.Ranges {
		where := fmt.Sprintf("affected[%d].ranges[%d]", i, j)
		if wr.Type == "" {
			return a, nil, fmt.Errorf("%s has no type", where)
		}
		if len(wr.Events) == 0 {
			return a, nil, fmt.Errorf("%s has no events", where)
		}
		rg := Range{Type: wr.Type, Repo: wr.Repo, Events: make([]Event, 0, len(wr.Events))}
		for k, we := range wr.Events {
			e, err := event(we)
			if err != nil {
				return a, nil, fmt.Errorf("%s.events[%d] %w", where, k, err)
			}
			rg.Events = append(rg.Events, e)
		}
		switch wr.Type {
		case RangeSemVer, RangeEcosystem, RangeGit:
		default:
			warnings = append(warnings, fmt.Sprintf("record %s: %s: range type %q is not evaluated", id, where, hallmark.Clip(wr.Type, 32)))
		}
		a.Ranges = append(a.Ranges, rg)
	}
	return a, warnings, nil
}

// event converts an event object, which must hold exactly one of the four
// keys with a non-empty version.
func event(w wireEvent) (Event, error) {
	var e Event
	n := 0
	for _, kv := range []struct {
		kind EventKind
		v    *string
	}{{Introduced, w.Introduced}, {Fixed, w.Fixed}, {LastAffected, w.LastAffected}, {Limit, w.Limit}} {
		if kv.v != nil {
			n++
			e = Event{Kind: kv.kind, Version: *kv.v}
		}
	}
	switch {
	case n != 1:
		return e, fmt.Errorf("has %d of introduced, fixed, last_affected and limit, not one", n)
	case e.Version == "":
		return e, fmt.Errorf("has an empty %s version", e.Kind)
	}
	return e, nil
}

// validID reports whether s is a plain OSV identifier: letters, digits
// and ".-_:", starting with a letter or digit, at most maxIDBytes.
func validID(s string) bool {
	if s == "" || len(s) > maxIDBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '-' || c == '.' || c == '_' || c == ':'):
		default:
			return false
		}
	}
	return true
}

// printable reports whether s has no control characters.
func printable(s string) bool {
	for _, c := range s {
		if c < ' ' || c == 0x7f || c == 0xfffd {
			return false
		}
	}
	return true
}
