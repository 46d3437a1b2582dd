package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestProbe(t *testing.T) {
	for _, y := range []string{
		"buildkit:\n  maxParalel: 2\n",
		"limits:\n  buildTimeout: 5x\n",
		"limits:\n  buildTimeout: 3600\n",
		"buildkit:\n  maxParallel: two\n",
		"auth:\n  issuers:\n  - url: http:///x\n    audience: a\n",
		"registries:\n- host: r.example.com\nauth:\n  issuers:\n  - url: http://127.0.0.1:1\n    audience: a\n",
	} {
		p := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(p, []byte(y), 0o600)
		c, err := loadConfig(p)
		t.Logf("%q -> %v\n%+v", y, err, c.Registries)
	}
}
