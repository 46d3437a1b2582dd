package config

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
