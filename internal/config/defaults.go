package config

import (
	"os"
	"time"
)

// The dev stack's fixed addresses and identities (`hallmark dev up`), which
// the defaults point at.
const (
	DevListen     = "127.0.0.1:7433"
	DevRegistry   = "127.0.0.1:7434"
	DevIssuerAddr = "127.0.0.1:7435"
	DevIssuer     = "http://" + DevIssuerAddr
	DevAudience   = "hallmark"
	// DevAdminSubject is the subject of the dev stack's token (`hallmark
	// dev token`), which the dev rules make an administrator.
	DevAdminSubject = "dev-ci"
	// DevBuilderID is the dev gateway's SLSA builder id and the SAN of its
	// signing certificates.
	DevBuilderID = "https://hallmark.dev/builders/dev"
)

// Base-image modes of policy.baseImages.mode.
const (
	BaseModePin           = "pin"
	BaseModeRequireDigest = "require-digest"
)

// Default returns the configuration that runs against the dev stack, with
// its files in the user's cache directory.
func Default() Config {
	home, _ := os.UserCacheDir()
	return Config{
		Listen:     DevListen,
		BuildKit:   BuildKitConfig{Address: "unix://" + home + "/hallmark/dev/buildkitd.sock", MaxParallel: 2, MaxQueued: 64},
		Registries: []RegistryConfig{{Host: DevRegistry, Insecure: true}},
		Auth: AuthConfig{
			Issuers: []Issuer{{URL: DevIssuer, Audience: DevAudience}},
			Rules: []Rule{
				{Issuer: DevIssuer, Repositories: []string{DevRegistry + "/**"}},
				{Issuer: DevIssuer, Subject: DevAdminSubject, Admin: true},
			},
		},
		Signing: SigningConfig{
			TrustedRoot:   home + "/hallmark/dev/trusted_root.json",
			SigningConfig: home + "/hallmark/dev/signing_config.json",
			TokenFile:     home + "/hallmark/dev/signing-token",
			BuilderID:     DevBuilderID,
			Identity:      IdentityConfig{Issuer: DevIssuer, SubjectAlternativeName: DevBuilderID},
		},
		DataDir: home + "/hallmark/gateway",
		Store:   StoreConfig{Driver: StoreSQLite, DecisionRetention: Duration(30 * 24 * time.Hour)},
		VulnDB:  VulnDBConfig{MaxImportBytes: DefaultVulnDBMaxImportBytes, Refresh: DefaultVulnDBRefresh},
		Limits: LimitsConfig{
			MaxContextBytes: 512 << 20, MaxMessageBytes: 4 << 20, BuildTimeout: Duration(time.Hour),
			ContextQuotaBytes: 10 << 30, ContextTTL: Duration(24 * time.Hour),
		},
		Log:       LogConfig{Level: "info", Format: "json"},
		Policy:    PolicyConfig{BaseImages: BaseImagesConfig{Mode: BaseModePin}, Vulnerabilities: VulnerabilitiesConfig{FailOn: "none"}},
		Verify:    VerifyConfig{MaxConcurrent: 16, Limits: DefaultVerifyLimits()},
		Admission: AdmissionConfig{Timeout: Duration(8 * time.Second)},
		UI:        UIConfig{Login: UILoginConfig{SessionTTL: Duration(DefaultUISessionTTL)}},
	}
}

// DefaultVerifyLimits are the defaults of verify.limits (the verify
// package's own defaults, which this package may not import).
func DefaultVerifyLimits() VerifyLimitsConfig {
	return VerifyLimitsConfig{MaxManifestBytes: 4 << 20, MaxReferrers: 1024, MaxBundles: 32, MaxBundleBytes: 16 << 20, MaxConfigBytes: 4 << 20}
}
