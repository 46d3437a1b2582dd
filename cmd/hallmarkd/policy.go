package main

import (
	"log/slog"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/internal/config"
)

// policyOptions are the builder options of the policy section, with a
// warning for each dangerous or permissive setting.
func policyOptions(p config.PolicyConfig, log *slog.Logger) []builder.Option {
	var opts []builder.Option
	if p.AllowRootUnsafe {
		log.Warn("policy.allowRootUnsafe is set: images may run as root")
		opts = append(opts, builder.WithRootAllowed())
	}
	if len(p.BaseImages.Allow) == 0 {
		log.Warn("policy.baseImages.allow is empty: builds may use base images from any repository their authorization rules let them read")
	}
	opts = append(opts,
		builder.WithBaseImageAllow(p.BaseImages.Allow...),
		builder.WithBaseImageMode(builder.BaseMode(p.BaseImages.Mode)),
		builder.WithSecretScanAllowPaths(p.SecretScan.AllowPaths...),
		builder.WithFrontends(p.Frontends...))
	if p.SecretScan.Disabled {
		log.Warn("policy.secretScan.disabledUnsafe is set: images are not scanned for secrets")
		opts = append(opts, builder.WithoutSecretScanUnsafe())
	}
	return opts
}
