package hallmark

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Digest is a content digest in OCI form, "sha256:<64 lowercase hex>".
type Digest string

// ParseDigest validates s as a sha256 digest.
func ParseDigest(s string) (Digest, error) {
	hex, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(hex) != 64 {
		return "", fmt.Errorf("%w: digest %q is not sha256:<64 hex>", ErrInvalid, Clip(s, 80))
	}
	for _, c := range hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", fmt.Errorf("%w: digest %q is not sha256:<64 lowercase hex>", ErrInvalid, Clip(s, 80))
		}
	}
	return Digest(s), nil
}

// SHA256 returns the sha256 digest of data.
func SHA256(data []byte) Digest {
	sum := sha256.Sum256(data)
	return Digest("sha256:" + hex.EncodeToString(sum[:]))
}

// Hex returns the digest without its algorithm prefix.
func (d Digest) Hex() string { return strings.TrimPrefix(string(d), "sha256:") }

// String returns the digest as "sha256:<hex>".
func (d Digest) String() string { return string(d) }
