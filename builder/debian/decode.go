package debian

import "github.com/hallmark-dev/hallmark/internal/strictyaml"

// decodeStrict reads one YAML document into v, reporting unknown fields and
// wrong kinds by their path (`spec.user: unknown field "home"`). Field names
// match exactly; encoding/json alone would accept any case. Aliases can
// expand a small document, so the JSON is bounded too.
func decodeStrict(data []byte, v any) error {
	return strictyaml.Decode(data, v, 4*MaxSpecBytes)
}
