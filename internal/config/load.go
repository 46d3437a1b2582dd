package config

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Load reads the file at path over the defaults and validates the result;
// an empty path returns the validated defaults. Unknown fields are errors
// that name the field's path, so a typo never silently falls back to a
// default. Lists (registries, issuers, rules) replace the defaults rather
// than merging into them, and a file never inherits the dev stack's signing
// setup.
func Load(path string) (Config, error) {
	c := Default()
	if path == "" {
		return c, c.Validate()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	c, err = decode(data)
	if err != nil {
		return c, fmt.Errorf("parse config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse is Load for a document in memory.
func Parse(data []byte) (Config, error) {
	c, err := decode(data)
	if err != nil {
		return c, fmt.Errorf("parse config: %w", err)
	}
	return c, c.Validate()
}

func decode(data []byte) (Config, error) {
	c := Default()
	c.Registries, c.Auth.Issuers, c.Auth.Rules = nil, nil, nil
	// A file that names its own Sigstore must never inherit the dev
	// stack's trust files or identity pin.
	c.Signing = SigningConfig{}
	// The dev stack's worker is the default only of a file that names no
	// worker, so that a file's buildkit.workers never meets it.
	devWorker := c.BuildKit.Address
	c.BuildKit.Address = ""
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		if field := unknownField(data); field != "" {
			return c, fmt.Errorf("%s: unknown field", field)
		}
		return c, err
	}
	if c.BuildKit.Address == "" && c.BuildKit.Workers == nil && c.BuildKit.Discover == "" { // workers: [] stays an error
		c.BuildKit.Address = devWorker
	}
	return c, nil
}

// Marshal writes c as YAML that Parse reads back to the same Config.
func (c Config) Marshal() ([]byte, error) {
	return yaml.Marshal(c)
}

// unknownField returns the path, such as "buildkit.maxParalel", of the
// first key in the YAML document data that names no field of Config, or "".
// The decoder's own error names only the key.
func unknownField(data []byte) string {
	var doc any
	if yaml.Unmarshal(data, &doc) != nil {
		return ""
	}
	return unknownFieldIn(doc, reflect.TypeFor[Config](), "")
}

func unknownFieldIn(v any, t reflect.Type, path string) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, _ := v.(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			f, ok := fieldByJSONName(t, k)
			if !ok {
				return p
			}
			if u := unknownFieldIn(m[k], f.Type, p); u != "" {
				return u
			}
		}
	case reflect.Slice:
		l, _ := v.([]any)
		for i, e := range l {
			if u := unknownFieldIn(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); u != "" {
				return u
			}
		}
	}
	return ""
}

// fieldByJSONName finds a field the way encoding/json does: by its json
// name, ignoring case.
func fieldByJSONName(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); f.IsExported() && strings.EqualFold(name, key) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
