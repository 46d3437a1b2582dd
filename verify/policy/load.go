package policy

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/strictyaml"
)

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
	// Aliases can expand a small document; bound what is decoded.
	err := strictyaml.Decode(data, &doc, 4*maxBytes)
	return doc, err
}

// invalid joins validation problems under hallmark.ErrInvalid.
func invalid(errs []error) error { return strictyaml.Invalid(errs) }
