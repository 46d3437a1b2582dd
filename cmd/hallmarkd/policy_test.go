package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/builder/contextstore"
	"github.com/hallmark-dev/hallmark/internal/config"
)

func TestPolicyOptions(t *testing.T) {
	tests := []struct {
		name     string
		policy   config.PolicyConfig
		warnings []string
	}{
		{name: "defaults", policy: config.PolicyConfig{BaseImages: config.BaseImagesConfig{Mode: "pin"}},
			warnings: []string{"policy.baseImages.allow is empty"}},
		{name: "strict", policy: config.PolicyConfig{BaseImages: config.BaseImagesConfig{Mode: "require-digest", Allow: []string{"docker.io/library/*"}}}},
		{name: "frontends", policy: config.PolicyConfig{BaseImages: config.BaseImagesConfig{Mode: "pin", Allow: []string{"x/*"}},
			Frontends: []string{"docker.io/docker/dockerfile:1.7@sha256:" + strings.Repeat("ab", 32)}}},
		{name: "unsafe", policy: config.PolicyConfig{AllowRootUnsafe: true, BaseImages: config.BaseImagesConfig{Mode: "pin", Allow: []string{"x/*"}}, SecretScan: config.SecretScanConfig{Disabled: true}},
			warnings: []string{"policy.allowRootUnsafe", "policy.secretScan.disabledUnsafe"}},
	}
	store, err := contextstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			opts := policyOptions(tt.policy, slog.New(slog.NewTextHandler(&logs, nil)))
			b, err := builder.New([]string{"unix:///nonexistent.sock"}, store, opts...)
			if err != nil {
				t.Fatalf("builder.New with the policy options: %v", err)
			}
			_ = b.Close()
			if got := strings.Count(logs.String(), "level=WARN"); got != len(tt.warnings) {
				t.Errorf("%d warnings, want %d:\n%s", got, len(tt.warnings), logs.String())
			}
			for _, w := range tt.warnings {
				if !strings.Contains(logs.String(), w) {
					t.Errorf("logs do not warn about %s:\n%s", w, logs.String())
				}
			}
		})
	}
}

// TestBaseModesAgree keeps the config's base-image modes and the builder's
// the same set.
func TestBaseModesAgree(t *testing.T) {
	for _, m := range []string{config.BaseModePin, config.BaseModeRequireDigest} {
		if _, err := builder.ParseBaseMode(m); err != nil {
			t.Errorf("builder refuses config's mode %q: %v", m, err)
		}
	}
	for _, m := range []builder.BaseMode{builder.BasePin, builder.BaseRequireDigest} {
		c := config.Default()
		c.Policy.BaseImages.Mode = string(m)
		if err := c.Validate(); err != nil {
			t.Errorf("config refuses builder's mode %q: %v", m, err)
		}
	}
}
