package signtest

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// EditBundle returns the Sigstore bundle JSON b changed by edit, for tests
// of bundles tampered with after signing.
func EditBundle(tb testing.TB, b []byte, edit func(bundle map[string]any)) []byte {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// DropMaterial returns bundle b without one field of its
// verificationMaterial: "tlogEntries" or "timestampVerificationData".
func DropMaterial(tb testing.TB, b []byte, field string) []byte {
	tb.Helper()
	return EditBundle(tb, b, func(m map[string]any) {
		delete(m["verificationMaterial"].(map[string]any), field)
	})
}

// EditPayload returns DSSE bundle b with the first old in its payload
// replaced by replacement, leaving the signature as it was.
func EditPayload(tb testing.TB, b []byte, old, replacement string) []byte {
	tb.Helper()
	return EditBundle(tb, b, func(m map[string]any) {
		env := m["dsseEnvelope"].(map[string]any)
		payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
		if err != nil {
			tb.Fatal(err)
		}
		env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(payload), old, replacement, 1)))
	})
}
