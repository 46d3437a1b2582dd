package debian

import (
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

// decodeStrict reads one YAML document into v, reporting unknown fields and
// wrong kinds by their path (`spec.user: unknown field "home"`). Field names
// match exactly; encoding/json alone would accept any case.
func decodeStrict(data []byte, v any) error {
	if !oneDocument(data) {
		return fmt.Errorf("%w: base image spec: want one YAML document", hallmark.ErrInvalid)
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return fmt.Errorf("%w: parse base image spec: %w", hallmark.ErrInvalid, err)
	}
	// Aliases can expand a small document; bound what is decoded.
	if len(js) > 4*MaxSpecBytes {
		return fmt.Errorf("%w: base image spec expands to %d bytes of JSON", hallmark.ErrTooLarge, len(js))
	}
	var generic any
	if err := json.Unmarshal(js, &generic); err != nil {
		return fmt.Errorf("%w: parse base image spec: %w", hallmark.ErrInvalid, err)
	}
	if generic == nil {
		return fmt.Errorf("%w: base image spec is empty", hallmark.ErrInvalid)
	}
	if err := checkShape("", generic, reflect.TypeOf(v).Elem()); err != nil {
		return fmt.Errorf("%w: %w", hallmark.ErrInvalid, err)
	}
	if err := json.Unmarshal(js, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("%w: %s: want %s, got %s", hallmark.ErrInvalid, te.Field, te.Type, te.Value)
		}
		return fmt.Errorf("%w: decode base image spec: %w", hallmark.ErrInvalid, err)
	}
	return nil
}

// oneDocument reports whether data holds at most one YAML document: no
// "---" marker after content or after another marker.
func oneDocument(data []byte) bool {
	content, markers := false, 0
	for _, line := range bytes.Split(data, []byte("\n")) {
		rest, marker := bytes.CutPrefix(line, []byte("---"))
		switch t := bytes.TrimSpace(line); {
		case marker && (len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r'):
			if content || markers > 0 {
				return false
			}
			markers++
		case len(t) > 0 && t[0] != '#':
			content = true
		}
	}
	return true
}

// checkShape compares decoded JSON with the Go type it is decoded into.
func checkShape(path string, v any, t reflect.Type) error {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %s", where(path), kindOf(v))
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			f, ok := fieldByJSONName(t, k)
			if !ok {
				return fmt.Errorf("%s: unknown field %q", where(path), clip(k))
			}
			if err := checkShape(join(path, k), m[k], f.Type); err != nil {
				return err
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %s", where(path), kindOf(v))
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if err := checkShape(join(path, k), m[k], t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want a list, got %s", where(path), kindOf(v))
		}
		for i, e := range l {
			if err := checkShape(fmt.Sprintf("%s[%d]", path, i), e, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: want a string, got %s (quote it)", where(path), kindOf(v))
		}
	case reflect.Int:
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return fmt.Errorf("%s: want an integer, got %s", where(path), kindOf(v))
		}
	}
	return nil
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
		return fmt.Sprintf("string %q", clip(v))
	case bool:
		return fmt.Sprintf("bool %t", v)
	case float64:
		return fmt.Sprintf("number %v", v)
	default:
		return fmt.Sprintf("%T", v)
	}
}
