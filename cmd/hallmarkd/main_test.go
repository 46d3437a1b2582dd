package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/registry"
)

// TestNewBaseBuilder: the base builder is built from the config, with or
// without its own .deb cache, and shares the work directory of builds.
func TestNewBaseBuilder(t *testing.T) {
	rc, err := registry.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, cache := range []string{"", "debs"} {
		t.Run("cache="+cache, func(t *testing.T) {
			cfg := config.Default()
			cfg.DataDir = t.TempDir()
			if cache != "" {
				cfg.Debian.CacheDir = filepath.Join(t.TempDir(), cache)
			}
			b, err := newBaseBuilder(cfg, slog.New(slog.DiscardHandler), rc)
			if err != nil || b == nil {
				t.Fatalf("newBaseBuilder = %v, %v", b, err)
			}
			if fi, err := os.Stat(filepath.Join(cfg.DataDir, "work")); err != nil || !fi.IsDir() {
				t.Errorf("work dir not created: %v", err)
			}
		})
	}
}
