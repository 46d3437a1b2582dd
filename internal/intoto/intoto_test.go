package intoto

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	attv1 "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	hallmark "github.com/hallmark-dev/hallmark"
)

const (
	testDigest = hallmark.Digest("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	testHex    = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	testRepo   = "registry.example:5000/team/app"
)

func TestStatement(t *testing.T) {
	want := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"registry.example:5000/team/app","digest":{"sha256":"` + testHex + `"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"a":1,"b":"<&>","c":{"x":true,"y":null}}}`
	tests := []struct {
		name      string
		predicate any
	}{
		{"map sorted", map[string]any{"c": map[string]any{"y": nil, "x": true}, "b": "<&>", "a": 1}},
		{"raw compacted", json.RawMessage("{ \"a\": 1,\n \"b\": \"<&>\", \"c\": {\"x\": true, \"y\": null} }")},
		{"bytes", []byte(`{"a":1,"b":"<&>","c":{"x":true,"y":null}}`)},
		{"struct", struct {
			A int            `json:"a"`
			B string         `json:"b"`
			C map[string]any `json:"c"`
		}{1, "<&>", map[string]any{"y": nil, "x": true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 3 { // the same bytes every time
				got, err := Statement(testRepo, testDigest, hallmark.PredicateSLSAProvenanceV1, tt.predicate)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != want {
					t.Fatalf("Statement:\n got %s\nwant %s", got, want)
				}
			}
		})
	}
}

// TestStatementInTotoBindings checks the output against the in-toto Go
// bindings, strictly (unknown fields are errors).
func TestStatementInTotoBindings(t *testing.T) {
	got, err := Statement(testRepo, testDigest, hallmark.PredicateSPDX, map[string]any{"spdxVersion": "SPDX-2.3"})
	if err != nil {
		t.Fatal(err)
	}
	var st attv1.Statement
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(got, &st); err != nil {
		t.Fatalf("protojson: %v", err)
	}
	if err := st.Validate(); err != nil {
		t.Fatalf("in-toto validate: %v", err)
	}
	if st.GetType() != attv1.StatementTypeUri || st.GetSubject()[0].GetName() != testRepo || st.GetSubject()[0].GetDigest()["sha256"] != testHex {
		t.Fatalf("unexpected statement %v", &st)
	}
}

func TestStatementErrors(t *testing.T) {
	tests := []struct {
		name          string
		subject       string
		digest        hallmark.Digest
		predicateType string
		predicate     any
	}{
		{"empty name", "", testDigest, hallmark.PredicateSPDX, map[string]any{}},
		{"control char in name", "a\nb", testDigest, hallmark.PredicateSPDX, map[string]any{}},
		{"long name", strings.Repeat("a", maxNameBytes+1), testDigest, hallmark.PredicateSPDX, map[string]any{}},
		{"bad digest", testRepo, "sha256:abc", hallmark.PredicateSPDX, map[string]any{}},
		{"uppercase digest", testRepo, hallmark.Digest(strings.ToUpper(string(testDigest))), hallmark.PredicateSPDX, map[string]any{}},
		{"empty type", testRepo, testDigest, "", map[string]any{}},
		{"relative type", testRepo, testDigest, "provenance", map[string]any{}},
		{"type with space", testRepo, testDigest, "https://x.dev/a b", map[string]any{}},
		{"nil predicate", testRepo, testDigest, hallmark.PredicateSPDX, nil},
		{"array predicate", testRepo, testDigest, hallmark.PredicateSPDX, []string{"a"}},
		{"string predicate", testRepo, testDigest, hallmark.PredicateSPDX, "text"},
		{"raw null", testRepo, testDigest, hallmark.PredicateSPDX, json.RawMessage("null")},
		{"raw malformed", testRepo, testDigest, hallmark.PredicateSPDX, json.RawMessage(`{"a":`)},
		{"raw two values", testRepo, testDigest, hallmark.PredicateSPDX, json.RawMessage(`{} {}`)},
		{"raw duplicate key", testRepo, testDigest, hallmark.PredicateSPDX, json.RawMessage(`{"a":1,"a":2}`)},
		{"raw invalid utf8", testRepo, testDigest, hallmark.PredicateSPDX, []byte("{\"a\":\"\xff\"}")},
		{"unencodable", testRepo, testDigest, hallmark.PredicateSPDX, map[string]any{"f": func() {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Statement(tt.subject, tt.digest, tt.predicateType, tt.predicate); err == nil {
				t.Fatal("Statement succeeded; want an error")
			}
		})
	}
}

// statementWith builds a statement's JSON by hand, for malformed inputs.
func statementWith(t *testing.T, edit func(m map[string]any)) []byte {
	t.Helper()
	m := map[string]any{
		"_type":         hallmark.StatementTypeV1,
		"subject":       []any{map[string]any{"name": testRepo, "digest": map[string]any{"sha256": testHex}}},
		"predicateType": hallmark.PredicateSLSAProvenanceV1,
		"predicate":     map[string]any{"buildDefinition": map[string]any{}},
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	good, err := Statement(testRepo, testDigest, hallmark.PredicateSLSAProvenanceV1, map[string]any{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := Parse(good, len(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Subjects) != 1 || st.Subjects[0].Name != testRepo || !st.HasSubjectDigest(testDigest) ||
		st.PredicateType != hallmark.PredicateSLSAProvenanceV1 || string(st.Predicate) != `{"k":"v"}` {
		t.Fatalf("Parse: unexpected %+v", st)
	}
	if st.HasSubjectDigest("sha256:" + hallmark.Digest(strings.Repeat("f", 64))) {
		t.Fatal("HasSubjectDigest matched another digest")
	}

	// What cosign v3.1.3 writes: `cosign sign` a v1 statement whose subject
	// carries annotations (ResourceDescriptor), `cosign attest` a v0.1 one.
	for name, tc := range map[string]struct{ doc, typ string }{
		"cosign sign":                    {`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + testHex + `"},"annotations":{"team":"a"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`, hallmark.StatementTypeV1},
		"cosign attest":                  {`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://example.com/pred/v1","subject":[{"name":"reg.example/app","digest":{"sha256":"` + testHex + `"}}],"predicate":{"a":1}}`, hallmark.StatementTypeV01},
		"every ResourceDescriptor field": {`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"n","uri":"https://x","digest":{"sha256":"` + testHex + `"},"content":"aGk=","downloadLocation":"https://y","mediaType":"text/plain","annotations":{}}],"predicateType":"https://example.com/p"}`, hallmark.StatementTypeV1},
	} {
		t.Run(name, func(t *testing.T) {
			st, err := Parse([]byte(tc.doc), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if st.Type != tc.typ || !st.HasSubjectDigest(testDigest) {
				t.Errorf("Parse = %+v", st)
			}
		})
	}

	t.Run("no predicate is empty", func(t *testing.T) {
		st, err := Parse(statementWith(t, func(m map[string]any) { delete(m, "predicate") }), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if string(st.Predicate) != "{}" {
			t.Fatalf("predicate %s, want {}", st.Predicate)
		}
	})
	t.Run("several subjects, one sha256, no name", func(t *testing.T) {
		st, err := Parse(statementWith(t, func(m map[string]any) {
			m["subject"] = []any{
				map[string]any{"name": "a", "digest": map[string]any{"sha512": strings.Repeat("a", 128)}},
				map[string]any{"digest": map[string]any{"sha256": testHex, "custom": "x"}},
			}
		}), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Subjects) != 2 || !st.HasSubjectDigest(testDigest) {
			t.Fatalf("unexpected %+v", st)
		}
		if _, ok := st.Subjects[0].SHA256(); ok {
			t.Fatal("subject without sha256 reported one")
		}
	})

	tests := []struct {
		name    string
		data    []byte
		max     int
		wantErr error
	}{
		{"too large", good, len(good) - 1, hallmark.ErrTooLarge},
		{"empty", nil, 100, hallmark.ErrInvalid},
		{"whitespace", []byte("  "), 100, hallmark.ErrInvalid},
		{"not object", []byte(`[]`), 100, hallmark.ErrInvalid},
		{"null", []byte(`null`), 100, hallmark.ErrInvalid},
		{"string", []byte(`"x"`), 100, hallmark.ErrInvalid},
		{"truncated", good[:len(good)-1], 1 << 20, hallmark.ErrInvalid},
		{"trailing data", append(append([]byte{}, good...), []byte(" {}")...), 1 << 20, hallmark.ErrInvalid},
		{"invalid utf8", bytes.Replace(good, []byte(`"v"`), []byte("\"\xff\""), 1), 1 << 20, hallmark.ErrInvalid},
		{"duplicate top key", []byte(strings.Replace(string(good), `{"_type"`, `{"predicateType":"https://x.dev/p","_type"`, 1)), 1 << 20, hallmark.ErrInvalid},
		{"duplicate escaped key", []byte(strings.Replace(string(good), `{"_type"`, `{"\u005ftype":"x","_type"`, 1)), 1 << 20, hallmark.ErrInvalid},
		{"duplicate key in predicate", []byte(strings.Replace(string(good), `{"k":"v"}`, `{"k":"v","k":"w"}`, 1)), 1 << 20, hallmark.ErrInvalid},
		{"duplicate key in digest", []byte(strings.Replace(string(good), `"digest":{"sha256"`, `"digest":{"sha256":"00","sha256"`, 1)), 1 << 20, hallmark.ErrInvalid},
		{"case-folded key", []byte(strings.Replace(string(good), `"subject"`, `"Subject"`, 1)), 1 << 20, hallmark.ErrInvalid},
		{"unknown field", statementWith(t, func(m map[string]any) { m["extra"] = 1 }), 1 << 20, hallmark.ErrInvalid},
		{"unknown subject field", statementWith(t, func(m map[string]any) {
			m["subject"] = []any{map[string]any{"name": "a", "colour": "x", "digest": map[string]any{"sha256": testHex}}}
		}), 1 << 20, hallmark.ErrInvalid},
		{"ResourceDescriptor field in a v0.1 subject", statementWith(t, func(m map[string]any) {
			m["_type"] = hallmark.StatementTypeV01
			m["subject"] = []any{map[string]any{"name": "a", "uri": "x", "digest": map[string]any{"sha256": testHex}}}
		}), 1 << 20, hallmark.ErrInvalid},
		{"uri not a string", statementWith(t, func(m map[string]any) {
			m["subject"] = []any{map[string]any{"uri": 7, "digest": map[string]any{"sha256": testHex}}}
		}), 1 << 20, hallmark.ErrInvalid},
		{"annotations not an object", statementWith(t, func(m map[string]any) {
			m["subject"] = []any{map[string]any{"annotations": "x", "digest": map[string]any{"sha256": testHex}}}
		}), 1 << 20, hallmark.ErrInvalid},
		{"unknown type", statementWith(t, func(m map[string]any) { m["_type"] = "https://in-toto.io/Statement/v2" }), 1 << 20, hallmark.ErrInvalid},
		{"type not string", statementWith(t, func(m map[string]any) { m["_type"] = 1 }), 1 << 20, hallmark.ErrInvalid},
		{"missing type", statementWith(t, func(m map[string]any) { delete(m, "_type") }), 1 << 20, hallmark.ErrInvalid},
		{"missing subject", statementWith(t, func(m map[string]any) { delete(m, "subject") }), 1 << 20, hallmark.ErrInvalid},
		{"null subject", statementWith(t, func(m map[string]any) { m["subject"] = nil }), 1 << 20, hallmark.ErrInvalid},
		{"empty subject", statementWith(t, func(m map[string]any) { m["subject"] = []any{} }), 1 << 20, hallmark.ErrInvalid},
		{"subject not object", statementWith(t, func(m map[string]any) { m["subject"] = []any{"x"} }), 1 << 20, hallmark.ErrInvalid},
		{"subject null entry", statementWith(t, func(m map[string]any) { m["subject"] = []any{nil} }), 1 << 20, hallmark.ErrInvalid},
		{"subject without digest", statementWith(t, func(m map[string]any) { m["subject"] = []any{map[string]any{"name": "a"}} }), 1 << 20, hallmark.ErrInvalid},
		{"subject empty digest", statementWith(t, func(m map[string]any) {
			m["subject"] = []any{map[string]any{"name": "a", "digest": map[string]any{}}}
		}), 1 << 20, hallmark.ErrInvalid},
		{"digest not strings", statementWith(t, func(m map[string]any) {
			m["subject"] = []any{map[string]any{"digest": map[string]any{"sha256": 1}}}
		}), 1 << 20, hallmark.ErrInvalid},
		{"name not string", statementWith(t, func(m map[string]any) {
			m["subject"] = []any{map[string]any{"name": nil, "digest": map[string]any{"sha256": testHex}}}
		}), 1 << 20, hallmark.ErrInvalid},
		{"uppercase sha256", statementWith(t, func(m map[string]any) {
			m["subject"] = []any{map[string]any{"digest": map[string]any{"sha256": strings.ToUpper(testHex)}}}
		}), 1 << 20, hallmark.ErrInvalid},
		{"short sha256", statementWith(t, func(m map[string]any) {
			m["subject"] = []any{map[string]any{"digest": map[string]any{"sha256": "abcd"}}}
		}), 1 << 20, hallmark.ErrInvalid},
		{"no sha256 subject", statementWith(t, func(m map[string]any) {
			m["subject"] = []any{map[string]any{"digest": map[string]any{"sha512": strings.Repeat("a", 128)}}}
		}), 1 << 20, hallmark.ErrInvalid},
		{"empty predicate type", statementWith(t, func(m map[string]any) { m["predicateType"] = "" }), 1 << 20, hallmark.ErrInvalid},
		{"relative predicate type", statementWith(t, func(m map[string]any) { m["predicateType"] = "slsa" }), 1 << 20, hallmark.ErrInvalid},
		{"predicate array", statementWith(t, func(m map[string]any) { m["predicate"] = []any{} }), 1 << 20, hallmark.ErrInvalid},
		{"predicate string", statementWith(t, func(m map[string]any) { m["predicate"] = "x" }), 1 << 20, hallmark.ErrInvalid},
		{"predicate null", statementWith(t, func(m map[string]any) { m["predicate"] = nil }), 1 << 20, hallmark.ErrInvalid},
		{"too deep", statementWith(t, func(m map[string]any) {
			m["predicate"] = json.RawMessage(strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth))
		}), 1 << 20, hallmark.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := Parse(tt.data, tt.max)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse: got %v, %v; want %v", st, err, tt.wantErr)
			}
		})
	}

	t.Run("zero limit", func(t *testing.T) {
		if _, err := Parse(good, 0); err == nil {
			t.Fatal("Parse with limit 0 succeeded")
		}
	})
	t.Run("deep but allowed", func(t *testing.T) {
		data := statementWith(t, func(m map[string]any) {
			n := maxDepth - 2 // the statement and the predicate itself take two levels
			m["predicate"] = json.RawMessage(strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n))
		})
		if _, err := Parse(data, 1<<20); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRoundTrip(t *testing.T) {
	predicate := json.RawMessage(`{"z":[1,2.5e10,"\u00e9",{"y":null}],"a":{}}`)
	data, err := Statement(testRepo, testDigest, hallmark.PredicateVSA, predicate)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Parse(data, len(data))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := st.Subjects[0].SHA256()
	again, err := Statement(st.Subjects[0].Name, d, st.PredicateType, st.Predicate)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, again) {
		t.Fatalf("round trip changed the statement:\n%s\n%s", data, again)
	}
}

func FuzzParse(f *testing.F) {
	good, err := Statement(testRepo, testDigest, hallmark.PredicateSLSAProvenanceV1, map[string]any{"k": []any{1, "v"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + testHex + `"}}],"predicateType":"https://x.dev/t"}`))
	f.Add([]byte(`{"_type":1,"_type":2}`))
	f.Add([]byte(`{"subject":[{"digest":{"sha256":"x","sha256":"y"}}]}`))
	f.Add([]byte(`[{"a":[{}]}]`))
	f.Add([]byte("{\"\xff\":1}"))
	f.Add([]byte(`{"a":1} x`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := Parse(data, 1<<16)
		if err != nil {
			if !errors.Is(err, hallmark.ErrInvalid) && !errors.Is(err, hallmark.ErrTooLarge) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		// Whatever Parse accepts holds what it promises.
		if len(st.Subjects) == 0 {
			t.Fatal("accepted a statement without subjects")
		}
		var d hallmark.Digest
		for _, s := range st.Subjects {
			if len(s.Digest) == 0 {
				t.Fatal("accepted a subject without digest")
			}
			if got, ok := s.SHA256(); ok && d == "" {
				d = got
			}
		}
		if d == "" || !st.HasSubjectDigest(d) {
			t.Fatal("accepted a statement without a sha256 subject")
		}
		if !json.Valid(st.Predicate) || !isObject(st.Predicate) {
			t.Fatalf("accepted predicate %q", st.Predicate)
		}
		if err := checkTypeURI(st.PredicateType); err != nil {
			t.Fatal(err)
		}
		// An accepted statement can be written again and reads back the same.
		name := st.Subjects[0].Name
		if name == "" || checkName(name) != nil {
			return
		}
		out, err := Statement(name, d, st.PredicateType, st.Predicate)
		if err != nil {
			t.Fatalf("rewrite accepted statement: %v", err)
		}
		if _, err := Parse(out, len(out)); err != nil {
			t.Fatalf("reparse rewritten statement: %v", err)
		}
	})
}
