package osv

import (
	"encoding/json"
	"fmt"
)

// dump renders v for comparison in test failures.
func dump(v any) string {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// minimal returns a small valid record with the given id.
func minimal(id string) []byte {
	return fmt.Appendf(nil, `{"id": %q, "modified": "2024-01-02T03:04:05Z", "affected": [{"package": {"ecosystem": "Go", "name": "example.com/m"},
	  "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}]}]}`, id)
}
