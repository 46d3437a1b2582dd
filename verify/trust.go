package verify

import (
	"fmt"
	"io"
	"os"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark"
)

// MaxTrustedRootBytes bounds a trusted_root.json read by LoadTrust.
const MaxTrustedRootBytes = 4 << 20

// Trust is a parsed sigstore-go trusted root and its version: the sha256 of
// the JSON it was read from. The version is part of every verdict cache key,
// so rotating the trusted root never serves a verdict made under the old
// one.
type Trust struct {
	Root    *root.TrustedRoot
	Version hallmark.Digest
}

// ParseTrust parses a trusted_root.json document.
func ParseTrust(data []byte) (*Trust, error) {
	if len(data) > MaxTrustedRootBytes {
		return nil, fmt.Errorf("parse trusted root: %w: %d bytes, over the %d-byte limit", hallmark.ErrTooLarge, len(data), MaxTrustedRootBytes)
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parse trusted root: %w: %w", hallmark.ErrInvalid, err)
	}
	return &Trust{Root: tr, Version: hallmark.SHA256(data)}, nil
}

// LoadTrust reads and parses the trusted_root.json at path.
func LoadTrust(path string) (*Trust, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read trusted root: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxTrustedRootBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read trusted root: %w", err)
	}
	t, err := ParseTrust(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
