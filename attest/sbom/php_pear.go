package sbom

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/package-url/packageurl-go"
)

const (
	// maxPearRegistryBytes bounds one PEAR registry file; PEAR's own, the
	// largest (its file list), is under 100 KiB.
	maxPearRegistryBytes = 4 << 20
	// maxPHPSerializedDepth and maxPHPSerializedValues bound the nesting
	// and the number of values of one serialized PHP value.
	maxPHPSerializedDepth  = 32
	maxPHPSerializedValues = 1 << 18
	// defaultPearChannel is the channel of a registry entry that names
	// none (package.xml version 1), as syft assumes.
	defaultPearChannel = "pecl.php.net"
)

// pearCataloger reads the PHP packages the PEAR and PECL installers
// registered: one serialized PHP array per package under a php/.registry
// directory (.registry/NAME.reg for pear.php.net, .registry/.channel.
// CHANNEL/NAME.reg for the others), as syft reads images.
var pearCataloger = &appCataloger{
	name:       "pear",
	purlType:   packageurl.TypePear,
	sourceInfo: "cataloged from the registry of the PHP PEAR and PECL installers",
	match:      isPearRegistry,
	maxBytes:   maxPearRegistryBytes,
	parse:      parsePearRegistry,
}

// isPearRegistry reports whether p is a *.reg file below a php/.registry
// directory (syft's **/php/.registry/**/*.reg).
func isPearRegistry(p string) bool {
	return strings.HasSuffix(p, ".reg") && strings.Contains(p, "/php/.registry/")
}

// parsePearRegistry reads one registry file: name, channel (pecl.php.net
// when absent), version.release and license._content (or a plain
// license string).
func parsePearRegistry(r io.Reader, size int64) ([]Package, error) {
	b, err := io.ReadAll(io.LimitReader(r, min(size, maxPearRegistryBytes)))
	if err != nil {
		return nil, fmt.Errorf("read PEAR registry: %w", err)
	}
	d := &phpDecoder{b: b, left: maxPHPSerializedValues}
	v, err := d.value(0)
	if err != nil {
		err = fmt.Errorf("parse PEAR registry: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.Join(err, errors.New("parse PEAR registry: not a serialized array"))
	}
	name, _ := m["name"].(string)
	channel, _ := m["channel"].(string)
	version := phpString(m, "version", "release")
	license := phpString(m, "license", "_content")
	if s, ok := m["license"].(string); ok {
		license = s
	}
	name, channel, version = strings.TrimSpace(name), strings.TrimSpace(channel), strings.TrimSpace(version)
	if name == "" || version == "" {
		return nil, errors.Join(err, errors.New("parse PEAR registry: no name or no version.release"))
	}
	if channel == "" {
		channel = defaultPearChannel
	}
	return []Package{{
		Type:    packageurl.TypePear,
		Name:    name,
		Version: version,
		PURL:    packageurl.NewPackageURL(packageurl.TypePear, channel, name, version, nil, "").ToString(),
		License: strings.TrimSpace(license),
	}}, err
}

// phpString follows keys through nested arrays to a string.
func phpString(v any, keys ...string) string {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

// phpDecoder decodes PHP's serialize() format (the subset arrays of
// scalars use, plus objects, read as arrays) into string, int64,
// float64, bool, nil and map[string]any (integer keys in decimal). It
// never allocates more than the input's size.
type phpDecoder struct {
	b    []byte
	pos  int
	left int // values still allowed
}

func (d *phpDecoder) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", d.pos, fmt.Sprintf(format, args...))
}

// expect consumes the byte c.
func (d *phpDecoder) expect(c byte) error {
	if d.pos >= len(d.b) || d.b[d.pos] != c {
		return d.errorf("want %q", c)
	}
	d.pos++
	return nil
}

// until returns the bytes up to the delimiter c and consumes both.
func (d *phpDecoder) until(c byte) (string, error) {
	i := strings.IndexByte(string(d.b[d.pos:min(len(d.b), d.pos+32)]), c)
	if i < 0 {
		return "", d.errorf("want %q", c)
	}
	s := string(d.b[d.pos : d.pos+i])
	d.pos += i + 1
	return s, nil
}

// length reads "N:" for a string, array or object length.
func (d *phpDecoder) length() (int, error) {
	s, err := d.until(':')
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > len(d.b) {
		return 0, d.errorf("bad length %.20q", s)
	}
	return n, nil
}

// str reads `N:"…"` (the part after "s:").
func (d *phpDecoder) str() (string, error) {
	n, err := d.length()
	if err != nil {
		return "", err
	}
	if err := d.expect('"'); err != nil {
		return "", err
	}
	if n > len(d.b)-d.pos {
		return "", d.errorf("string of %d bytes past the end", n)
	}
	s := string(d.b[d.pos : d.pos+n])
	d.pos += n
	return s, d.expect('"')
}

func (d *phpDecoder) value(depth int) (any, error) {
	if d.left--; d.left < 0 {
		return nil, d.errorf("more than %d values", maxPHPSerializedValues)
	}
	if depth > maxPHPSerializedDepth {
		return nil, d.errorf("nested deeper than %d", maxPHPSerializedDepth)
	}
	if d.pos+2 > len(d.b) {
		return nil, d.errorf("unexpected end")
	}
	kind := d.b[d.pos]
	if kind == 'N' {
		d.pos++
		return nil, d.expect(';')
	}
	d.pos++
	if err := d.expect(':'); err != nil {
		return nil, err
	}
	switch kind {
	case 's':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return s, d.expect(';')
	case 'i', 'r', 'R':
		s, err := d.until(';')
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, d.errorf("bad integer %.20q", s)
		}
		return n, nil
	case 'd':
		s, err := d.until(';')
		if err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, d.errorf("bad float %.20q", s)
		}
		return f, nil
	case 'b':
		s, err := d.until(';')
		if err != nil || (s != "0" && s != "1") {
			return nil, d.errorf("bad boolean")
		}
		return s == "1", nil
	case 'a':
		return d.array(depth)
	case 'O':
		if _, err := d.str(); err != nil { // class name
			return nil, err
		}
		if err := d.expect(':'); err != nil {
			return nil, err
		}
		return d.array(depth)
	}
	d.pos--
	return nil, d.errorf("unknown type %q", kind)
}

// array reads `N:{key value …}` (the part after "a:").
func (d *phpDecoder) array(depth int) (map[string]any, error) {
	n, err := d.length()
	if err != nil {
		return nil, err
	}
	if err := d.expect('{'); err != nil {
		return nil, err
	}
	m := map[string]any{}
	for range n {
		k, err := d.value(depth + 1)
		if err != nil {
			return m, err
		}
		var key string
		switch k := k.(type) {
		case string:
			key = k
		case int64:
			key = strconv.FormatInt(k, 10)
		default:
			return m, d.errorf("array key of type %T", k)
		}
		v, err := d.value(depth + 1)
		m[key] = v // a damaged value is kept as far as it was read
		if err != nil {
			return m, err
		}
	}
	return m, d.expect('}')
}
