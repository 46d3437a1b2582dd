package strictyaml

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	hallmark "github.com/hallmark-dev/hallmark"
)

// MaxProblems bounds the problems one error lists.
const MaxProblems = 20

// Decode reads data, one YAML document, into v (a pointer). Every problem
// with the document's shape is reported, up to MaxProblems, in one error.
// Errors wrap hallmark.ErrInvalid, or hallmark.ErrTooLarge when the
// document expands to more than maxJSON bytes of JSON.
func Decode(data []byte, v any, maxJSON int64) error {
	if n := countDocuments(data); n > 1 {
		return fmt.Errorf("%w: %d YAML documents, want one", hallmark.ErrInvalid, n)
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return fmt.Errorf("%w: parse YAML: %w", hallmark.ErrInvalid, err)
	}
	if int64(len(js)) > maxJSON {
		return fmt.Errorf("%w: document expands to %d bytes of JSON, the limit is %d", hallmark.ErrTooLarge, len(js), maxJSON)
	}
	var generic any
	if err := json.Unmarshal(js, &generic); err != nil {
		return fmt.Errorf("%w: parse YAML: %w", hallmark.ErrInvalid, err)
	}
	if generic == nil {
		return fmt.Errorf("%w: empty document", hallmark.ErrInvalid)
	}
	var errs []error
	checkShape(&errs, "", generic, reflect.TypeOf(v))
	if len(errs) > 0 {
		return Invalid(errs)
	}
	if err := json.Unmarshal(js, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("%w: %s: want %s, got %s", hallmark.ErrInvalid, te.Field, te.Type, te.Value)
		}
		return fmt.Errorf("%w: decode: %w", hallmark.ErrInvalid, err)
	}
	return nil
}

// Invalid joins problems under hallmark.ErrInvalid, listing at most
// MaxProblems of them.
func Invalid(errs []error) error {
	if len(errs) > MaxProblems {
		errs = append(errs[:MaxProblems:MaxProblems], fmt.Errorf("and %d more problems", len(errs)-MaxProblems))
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
// reporting unknown fields and kind mismatches by path.
func checkShape(errs *[]error, path string, v any, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil || len(*errs) > MaxProblems {
		return
	}
	add := func(format string, args ...any) { *errs = append(*errs, fmt.Errorf(where(path)+": "+format, args...)) }
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			add("want an object, got %s", kindOf(v))
			return
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			f, ok := fieldByJSONName(t, k)
			if !ok {
				add("unknown field %q", hallmark.Clip(k, 80))
				continue
			}
			checkShape(errs, join(path, k), m[k], f.Type)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			add("want an object, got %s", kindOf(v))
			return
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			checkShape(errs, join(path, k), m[k], t.Elem())
		}
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			add("want a list, got %s", kindOf(v))
			return
		}
		for i, e := range l {
			checkShape(errs, fmt.Sprintf("%s[%d]", path, i), e, t.Elem())
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			add("want a string, got %s (quote it)", kindOf(v))
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			add("want an integer, got %s", kindOf(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			add("want true or false, got %s", kindOf(v))
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
		return fmt.Sprintf("string %q", hallmark.Clip(v, 80))
	case bool:
		return fmt.Sprintf("bool %t", v)
	case float64:
		return fmt.Sprintf("number %v", v)
	default:
		return fmt.Sprintf("%T", v)
	}
}
