package intoto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	hallmark "github.com/hallmark-dev/hallmark"
)

const (
	// maxNameBytes bounds a subject name (an image repository is far shorter).
	maxNameBytes = 4096
	// maxTypeURIBytes bounds a predicate type URI.
	maxTypeURIBytes = 1024
	// maxDepth bounds the nesting of a statement, predicate included.
	// in-toto predicates in use (SLSA, SPDX, CycloneDX, VSA) nest under 20.
	maxDepth = 128
)

// statementJSON is the wire form of a statement Hallmark writes. The field
// order is fixed, so the output is the same on every run.
type statementJSON struct {
	Type          string          `json:"_type"`
	Subject       []subjectJSON   `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subjectJSON struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Statement returns an in-toto Statement v1 about one artifact: subjectName
// (for an image, its repository "registry/repository"), subjectDigest (the
// image's manifest or index digest), predicateType (a URI such as
// hallmark.PredicateSLSAProvenanceV1) and predicate, which must encode as a
// JSON object: a json.RawMessage or []byte holding one, or any value that
// encoding/json turns into one.
//
// The output is compact JSON with the fields in the order _type, subject,
// predicateType, predicate; HTML characters are not escaped and maps have
// sorted keys, so the same arguments always give the same bytes. A raw
// predicate is compacted but otherwise kept as given. The result always
// passes Parse with a large enough limit.
func Statement(subjectName string, subjectDigest hallmark.Digest, predicateType string, predicate any) ([]byte, error) {
	if err := checkName(subjectName); err != nil {
		return nil, fmt.Errorf("write statement: %w", err)
	}
	d, err := hallmark.ParseDigest(string(subjectDigest))
	if err != nil {
		return nil, fmt.Errorf("write statement: subject digest: %w", err)
	}
	if err := checkTypeURI(predicateType); err != nil {
		return nil, fmt.Errorf("write statement: %w", err)
	}
	raw, err := predicateJSON(predicate)
	if err != nil {
		return nil, fmt.Errorf("write statement: %w", err)
	}
	if err := checkObject(raw); err != nil {
		return nil, fmt.Errorf("write statement: predicate: %w", err)
	}
	out, err := Encode(statementJSON{
		Type:          hallmark.StatementTypeV1,
		Subject:       []subjectJSON{{Name: subjectName, Digest: map[string]string{"sha256": d.Hex()}}},
		PredicateType: predicateType,
		Predicate:     raw,
	})
	if err != nil {
		return nil, fmt.Errorf("write statement: %w", err)
	}
	return out, nil
}

// predicateJSON encodes the predicate argument of Statement.
func predicateJSON(p any) (json.RawMessage, error) {
	switch v := p.(type) {
	case nil:
		return nil, fmt.Errorf("%w: predicate is nil", hallmark.ErrInvalid)
	case json.RawMessage:
		return v, nil
	case []byte:
		return v, nil
	default:
		raw, err := Encode(v)
		if err != nil {
			return nil, fmt.Errorf("encode predicate: %w", err)
		}
		return raw, nil
	}
}

// Encode is how Hallmark writes statements and the predicates in them:
// json.Marshal without HTML escaping and without the encoder's trailing
// newline. Maps are written with sorted keys, so the same value always
// gives the same bytes.
func Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Subject is one artifact a statement is about.
type Subject struct {
	// Name is the artifact's name; for an image, its repository. It may be
	// empty: subjects are matched by digest.
	Name string
	// Digest maps algorithm names ("sha256", …) to lowercase hex values.
	Digest map[string]string
}

// SHA256 returns the subject's sha256 digest in OCI form, if it has one.
func (s Subject) SHA256() (hallmark.Digest, bool) {
	h, ok := s.Digest["sha256"]
	if !ok {
		return "", false
	}
	d, err := hallmark.ParseDigest("sha256:" + h)
	return d, err == nil
}

// ParsedStatement is an in-toto statement read by Parse.
type ParsedStatement struct {
	// Type is hallmark.StatementTypeV1 or hallmark.StatementTypeV01.
	Type string
	// Subjects has at least one entry, and at least one of them has a valid
	// sha256 digest.
	Subjects []Subject
	// PredicateType is the predicate's type URI.
	PredicateType string
	// Predicate is the predicate, a JSON object; "{}" when the statement
	// has none (the spec treats unset and empty alike).
	Predicate json.RawMessage
}

// HasSubjectDigest reports whether d (a sha256 digest) is the digest of one
// of the statement's subjects.
func (s *ParsedStatement) HasSubjectDigest(d hallmark.Digest) bool {
	for _, sub := range s.Subjects {
		if got, ok := sub.SHA256(); ok && got == d {
			return true
		}
	}
	return false
}

var (
	statementKeys = []string{"_type", "subject", "predicateType", "predicate"}
	// subjectKeys are the fields of a v0.1 subject; a v1 subject is a
	// ResourceDescriptor and may have every field of one.
	subjectKeys            = []string{"name", "digest"}
	resourceDescriptorKeys = []string{"name", "uri", "digest", "content", "downloadLocation", "mediaType", "annotations"}
)

// Parse reads an in-toto statement, v1 or v0.1 (as the in-toto parsers
// do: `cosign attest` still writes v0.1), from untrusted data of at most
// maxBytes bytes (a larger input is hallmark.ErrTooLarge). It accepts only
// valid UTF-8 JSON with no duplicate keys at any depth, nesting no deeper
// than 128, and exactly the statement's fields with their exact spelling:
// "_type" equal to hallmark.StatementTypeV1 or hallmark.StatementTypeV01,
// "subject", "predicateType" (a URI) and optionally "predicate" (an object).
// A v1 subject is a ResourceDescriptor: "name", "uri", "content",
// "downloadLocation" and "mediaType" are strings and "annotations" an
// object (`cosign sign` writes them), and "digest" is required; a v0.1
// subject has only "name" and "digest". Every digest is a non-empty object
// of strings, and at least one subject has a sha256 digest of 64 lowercase
// hex. Any other input is hallmark.ErrInvalid.
//
// The in-toto spec asks consumers to ignore unknown fields; Parse rejects
// them instead (the statements Hallmark reads, its own, cosign's and
// GitHub's, have none), so that no two parsers can disagree about what was
// signed.
func Parse(data []byte, maxBytes int) (*ParsedStatement, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("parse statement: limit %d is not positive", maxBytes)
	}
	if len(data) > maxBytes {
		return nil, fmt.Errorf("parse statement: %w: %d bytes, the limit is %d", hallmark.ErrTooLarge, len(data), maxBytes)
	}
	if err := checkJSON(data); err != nil {
		return nil, fmt.Errorf("parse statement: %w", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil || top == nil {
		return nil, fmt.Errorf("parse statement: %w: not a JSON object", hallmark.ErrInvalid)
	}
	if err := checkKeys(top, statementKeys, "_type", "subject", "predicateType"); err != nil {
		return nil, fmt.Errorf("parse statement: %w", err)
	}

	var typ string
	if err := json.Unmarshal(top["_type"], &typ); err != nil || (typ != hallmark.StatementTypeV1 && typ != hallmark.StatementTypeV01) {
		return nil, fmt.Errorf("parse statement: %w: _type is not %q or %q", hallmark.ErrInvalid, hallmark.StatementTypeV1, hallmark.StatementTypeV01)
	}
	st := &ParsedStatement{Type: typ}
	if err := json.Unmarshal(top["predicateType"], &st.PredicateType); err != nil {
		return nil, fmt.Errorf("parse statement: %w: predicateType is not a string", hallmark.ErrInvalid)
	}
	if err := checkTypeURI(st.PredicateType); err != nil {
		return nil, fmt.Errorf("parse statement: %w", err)
	}
	allowed := resourceDescriptorKeys
	if typ == hallmark.StatementTypeV01 {
		allowed = subjectKeys
	}
	subjects, err := parseSubjects(top["subject"], allowed)
	if err != nil {
		return nil, fmt.Errorf("parse statement: %w", err)
	}
	st.Subjects = subjects

	st.Predicate = json.RawMessage("{}")
	if raw, ok := top["predicate"]; ok {
		if !isObject(raw) {
			return nil, fmt.Errorf("parse statement: %w: predicate is not an object", hallmark.ErrInvalid)
		}
		st.Predicate = raw
	}
	return st, nil
}

// parseSubjects reads and checks the subject array; allowed are the
// fields a subject may have.
func parseSubjects(raw json.RawMessage, allowed []string) ([]Subject, error) {
	var entries []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("%w: subject is not an array of objects", hallmark.ErrInvalid)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: statement has no subject", hallmark.ErrInvalid)
	}
	subjects := make([]Subject, 0, len(entries))
	withSHA256 := false
	for i, e := range entries {
		if e == nil {
			return nil, fmt.Errorf("%w: subject %d is not an object", hallmark.ErrInvalid, i)
		}
		if err := checkKeys(e, allowed, "digest"); err != nil {
			return nil, fmt.Errorf("subject %d: %w", i, err)
		}
		for _, k := range []string{"uri", "content", "downloadLocation", "mediaType"} {
			if v, ok := e[k]; ok && !isString(v) {
				return nil, fmt.Errorf("%w: subject %d: %s is not a string", hallmark.ErrInvalid, i, k)
			}
		}
		if v, ok := e["annotations"]; ok && !isObject(v) {
			return nil, fmt.Errorf("%w: subject %d: annotations is not an object", hallmark.ErrInvalid, i)
		}
		var s Subject
		if name, ok := e["name"]; ok {
			if err := json.Unmarshal(name, &s.Name); err != nil || !isString(name) {
				return nil, fmt.Errorf("%w: subject %d: name is not a string", hallmark.ErrInvalid, i)
			}
		}
		if err := json.Unmarshal(e["digest"], &s.Digest); err != nil || !isObject(e["digest"]) {
			return nil, fmt.Errorf("%w: subject %d: digest is not an object of strings", hallmark.ErrInvalid, i)
		}
		if len(s.Digest) == 0 {
			return nil, fmt.Errorf("%w: subject %d has an empty digest", hallmark.ErrInvalid, i)
		}
		if h, ok := s.Digest["sha256"]; ok {
			if _, err := hallmark.ParseDigest("sha256:" + h); err != nil {
				return nil, fmt.Errorf("subject %d: %w", i, err)
			}
			withSHA256 = true
		}
		subjects = append(subjects, s)
	}
	if !withSHA256 {
		return nil, fmt.Errorf("%w: no subject has a sha256 digest", hallmark.ErrInvalid)
	}
	return subjects, nil
}

// checkKeys reports keys of obj outside allowed, and required keys missing.
// Keys compare exactly: encoding/json would match "Subject" to "subject".
func checkKeys(obj map[string]json.RawMessage, allowed []string, required ...string) error {
	for k := range obj {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("%w: unknown field %q", hallmark.ErrInvalid, hallmark.Clip(k, 80))
		}
	}
	for _, k := range required {
		if _, ok := obj[k]; !ok {
			return fmt.Errorf("%w: missing field %q", hallmark.ErrInvalid, k)
		}
	}
	return nil
}

// checkJSON checks that data is one valid UTF-8 JSON value with no duplicate
// object keys and no deeper nesting than maxDepth. Duplicate keys matter:
// encoding/json keeps the last, other parsers the first, so two verifiers
// could read different statements from the same signed bytes.
func checkJSON(data []byte) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: not valid UTF-8", hallmark.ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		keys    map[string]struct{} // nil for an array
		wantKey bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: malformed JSON: %w", hallmark.ErrInvalid, err)
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil && stack[n-1].wantKey {
			if k, ok := tok.(string); ok { // a key; '}' ends the object instead
				if _, dup := stack[n-1].keys[k]; dup {
					return fmt.Errorf("%w: duplicate key %q", hallmark.ErrInvalid, hallmark.Clip(k, 80))
				}
				stack[n-1].keys[k] = struct{}{}
				stack[n-1].wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) == maxDepth {
				return fmt.Errorf("%w: nested deeper than %d", hallmark.ErrInvalid, maxDepth)
			}
			f := frame{}
			if tok == json.Delim('{') {
				f = frame{keys: map[string]struct{}{}, wantKey: true}
			}
			stack = append(stack, f)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantKey = true // a value ended: the next token is a key or '}'
		}
		if len(stack) == 0 {
			if _, err := dec.Token(); !errors.Is(err, io.EOF) {
				return fmt.Errorf("%w: data after the JSON value", hallmark.ErrInvalid)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: empty or truncated JSON", hallmark.ErrInvalid)
}

// checkObject checks a predicate Statement is about to embed.
func checkObject(raw json.RawMessage) error {
	if !isObject(raw) {
		return fmt.Errorf("%w: not a JSON object", hallmark.ErrInvalid)
	}
	return checkJSON(raw)
}

func isObject(raw json.RawMessage) bool {
	t := bytes.TrimLeft(raw, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

func isString(raw json.RawMessage) bool {
	t := bytes.TrimLeft(raw, " \t\r\n")
	return len(t) > 0 && t[0] == '"'
}

func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: subject name is empty", hallmark.ErrInvalid)
	case len(name) > maxNameBytes:
		return fmt.Errorf("%w: subject name is over %d bytes", hallmark.ErrInvalid, maxNameBytes)
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: subject name %q has invalid or control characters", hallmark.ErrInvalid, hallmark.Clip(name, 80))
	}
	return nil
}

// checkTypeURI checks a predicate type: an absolute URI, no spaces.
func checkTypeURI(s string) error {
	if s == "" || len(s) > maxTypeURIBytes || strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("%w: predicate type %q is not a URI", hallmark.ErrInvalid, hallmark.Clip(s, 80))
	}
	if u, err := url.Parse(s); err != nil || u.Scheme == "" {
		return fmt.Errorf("%w: predicate type %q is not an absolute URI", hallmark.ErrInvalid, hallmark.Clip(s, 80))
	}
	return nil
}
