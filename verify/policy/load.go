package policy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/hallmark-dev/hallmark"
	"sigs.k8s.io/yaml"
)

// maxReported bounds the number of problems one error lists.
const maxReported = 20

// Load reads a policy document (YAML or JSON), validates it and compiles its
// rules. Problems with the document wrap hallmark.ErrInvalid, or
// hallmark.ErrTooLarge for an oversized document.
func Load(data []byte, opts ...Option) (*Policy, error) {
	o := defaultOptions()
	if err := o.apply(opts); err != nil {
		return nil, err
	}
	p, err := load(data, o)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	return p, nil
}

// LoadFile reads the policy document at path, like Load, and resolves a
// relative spec.trustedRoot against the file's directory.
func LoadFile(path string, opts ...Option) (*Policy, error) {
	o := defaultOptions()
	if err := o.apply(opts); err != nil {
		return nil, err
	}
	o.baseDir = filepath.Dir(path)
	data, err := readFile(path, o.maxBytes)
	if err != nil {
		return nil, fmt.Errorf("load policy %s: %w", path, err)
	}
	p, err := load(data, o)
	if err != nil {
		return nil, fmt.Errorf("load policy %s: %w", path, err)
	}
	return p, nil
}

func readFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", hallmark.ErrTooLarge, limit)
	}
	return data, nil
}

func load(data []byte, o options) (*Policy, error) {
	if int64(len(data)) > o.maxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", hallmark.ErrTooLarge, len(data), o.maxBytes)
	}
	doc, err := decode(data, o.maxBytes)
	if err != nil {
		return nil, err
	}
	return newPolicy(doc, o)
}

// decode reads one YAML document strictly into a Document.
func decode(data []byte, maxBytes int64) (Document, error) {
	var doc Document
	if n := countDocuments(data); n > 1 {
		return doc, fmt.Errorf("%w: %d YAML documents, want one", hallmark.ErrInvalid, n)
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return doc, fmt.Errorf("%w: parse YAML: %w", hallmark.ErrInvalid, err)
	}
	// Aliases can expand a small document; bound what is decoded.
	if int64(len(js)) > 4*maxBytes {
		return doc, fmt.Errorf("%w: document expands to %d bytes of JSON", hallmark.ErrTooLarge, len(js))
	}
	var generic any
	if err := json.Unmarshal(js, &generic); err != nil {
		return doc, fmt.Errorf("%w: parse YAML: %w", hallmark.ErrInvalid, err)
	}
	if generic == nil {
		return doc, fmt.Errorf("%w: empty document", hallmark.ErrInvalid)
	}
	var errs []error
	checkShape(&errs, "", generic, reflect.TypeFor[Document]())
	if len(errs) > 0 {
		return doc, invalid(errs)
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		return doc, fmt.Errorf("%w: decode: %w", hallmark.ErrInvalid, err)
	}
	return doc, nil
}

// invalid joins validation problems under hallmark.ErrInvalid.
func invalid(errs []error) error {
	if len(errs) > maxReported {
		errs = append(errs[:maxReported:maxReported], fmt.Errorf("and %d more problems", len(errs)-maxReported))
	}
	return fmt.Errorf("%w: %w", hallmark.ErrInvalid, errors.Join(errs...))
}

// countDocuments counts the YAML documents in data: explicit ones ("---"
// at the start of a line) and a bare one before the first marker or after
// a "..." end marker.
func countDocuments(data []byte) int {
	n, open := 0, false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case isMarker(line, "---"):
			n, open = n+1, true
		case isMarker(line, "..."):
			open = false
		case open:
		case strings.TrimSpace(line) == "", strings.HasPrefix(strings.TrimSpace(line), "#"), strings.HasPrefix(line, "%"):
		default:
			n, open = n+1, true
		}
	}
	return n
}

func isMarker(line, m string) bool {
	rest, ok := strings.CutPrefix(line, m)
	return ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r')
}

// checkShape compares decoded JSON with the Go type it is decoded into,
// reporting unknown fields and kind mismatches by path. Field names match
// exactly (encoding/json alone would accept any case).
func checkShape(errs *[]error, path string, v any, t reflect.Type) {
	if v == nil || len(*errs) > maxReported {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			*errs = append(*errs, fmt.Errorf("%s: want an object, got %s", where(path), kindOf(v)))
			return
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			f, ok := fieldByJSONName(t, k)
			if !ok {
				*errs = append(*errs, fmt.Errorf("%s: unknown field %q", where(path), k))
				continue
			}
			checkShape(errs, join(path, k), m[k], f.Type)
		}
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			*errs = append(*errs, fmt.Errorf("%s: want a list, got %s", where(path), kindOf(v)))
			return
		}
		for i, e := range l {
			checkShape(errs, fmt.Sprintf("%s[%d]", path, i), e, t.Elem())
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			*errs = append(*errs, fmt.Errorf("%s: want a string, got %s (quote it)", where(path), kindOf(v)))
		}
	}
}

func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == name && f.IsExported() {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func where(path string) string {
	if path == "" {
		return "document"
	}
	return path
}

func kindOf(v any) string {
	switch v := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return fmt.Sprintf("bool %t", v)
	case float64:
		return fmt.Sprintf("number %v", v)
	default:
		return fmt.Sprintf("%T", v)
	}
}
