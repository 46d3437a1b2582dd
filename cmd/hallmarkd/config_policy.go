package main

import (
	"fmt"
	"log/slog"

	"github.com/hallmark-dev/hallmark/builder"
)

// BaseImagesConfig is the base-image policy (docs/build-policy.md).
type BaseImagesConfig struct {
	// Allow lists patterns for the repositories ("registry/path", fully
	// qualified: docker.io/library/alpine) that Dockerfiles may build on;
	// "*" matches within one path segment, a "**" segment any number of
	// segments. Empty allows every repository (a warning at start).
	Allow []string `json:"allow"`
	// Mode is "pin" (the gateway pins tags to digests) or "require-digest"
	// (Dockerfiles must pin every base by digest). Default pin. ":latest"
	// and untagged references are refused in both modes unless pinned by
	// digest.
	Mode string `json:"mode"`
	// RequireAttestation names a policy of verify.policies that every base
	// image must pass (verified before the build); empty (the default)
	// does not verify bases.
	RequireAttestation string `json:"requireAttestation"`
}

// SecretScanConfig configures the scan of built images for secrets.
type SecretScanConfig struct {
	// AllowPaths lists patterns for image paths ("/etc/ssl/private/*.key")
	// and "env:NAME" / "label:KEY" where findings are accepted (they become
	// build warnings, recorded in provenance).
	AllowPaths []string `json:"allowPaths"`
	// Disabled turns the scan off. Dangerous: images holding keys or tokens
	// get tagged and published.
	Disabled bool `json:"disabledUnsafe"`
}

func (c Config) validatePolicy(bad func(field, format string, args ...any)) {
	for i, p := range c.Policy.BaseImages.Allow {
		if err := builder.CheckGlob(p); err != nil {
			bad(fmt.Sprintf("policy.baseImages.allow[%d]", i), "%v", err)
		}
	}
	if _, err := builder.ParseBaseMode(c.Policy.BaseImages.Mode); err != nil {
		bad("policy.baseImages.mode", "%v", err)
	}
	if c.Policy.BaseImages.RequireAttestation != "" && len(c.Verify.Policies) == 0 {
		bad("policy.baseImages.requireAttestation", "names policy %q, but verify.policies is empty", c.Policy.BaseImages.RequireAttestation)
	}
	for i, p := range c.Policy.SecretScan.AllowPaths {
		if err := builder.CheckGlob(p); err != nil {
			bad(fmt.Sprintf("policy.secretScan.allowPaths[%d]", i), "%v", err)
		}
	}
}

// policyOptions are the builder options of the policy section, with a
// warning for each dangerous or permissive setting.
func policyOptions(p PolicyConfig, log *slog.Logger) []builder.Option {
	var opts []builder.Option
	if p.AllowRootUnsafe {
		log.Warn("policy.allowRootUnsafe is set: images may run as root")
		opts = append(opts, builder.WithRootAllowed())
	}
	if len(p.BaseImages.Allow) == 0 {
		log.Warn("policy.baseImages.allow is empty: builds may use base images from any repository")
	}
	opts = append(opts,
		builder.WithBaseImageAllow(p.BaseImages.Allow...),
		builder.WithBaseImageMode(builder.BaseMode(p.BaseImages.Mode)),
		builder.WithSecretScanAllowPaths(p.SecretScan.AllowPaths...))
	if p.SecretScan.Disabled {
		log.Warn("policy.secretScan.disabledUnsafe is set: images are not scanned for secrets")
		opts = append(opts, builder.WithoutSecretScanUnsafe())
	}
	return opts
}
