package config

// VerifyConfig configures VerifyService and the verdict cache.
type VerifyConfig struct {
	// Policies are policy files (apiVersion hallmark.dev/v1, kind Policy).
	// VerifyService and the admission webhook are served only when at
	// least one is given.
	Policies []string `json:"policies"`
	// DefaultPolicy names the policy used when a request names none.
	// Default: the first policy.
	DefaultPolicy string `json:"defaultPolicy"`
	// TrustedRoot is the trusted_root.json of policies that name none.
	// Default: signing.trustedRoot.
	TrustedRoot string `json:"trustedRoot"`
	// AllowTTL and DenyTTL say how long allowed and denied verdicts are
	// cached. Defaults 10m and 1m; 0s disables. Errors are never cached.
	AllowTTL *Duration `json:"allowTTL"`
	DenyTTL  *Duration `json:"denyTTL"`
	// CacheSize is how many verdicts are kept. Default 10000.
	CacheSize *int `json:"cacheSize"`
	// VerifierID is the verifier.id of the Verification Summary
	// Attestations the gateway signs (with its signing setup). Default
	// signing.builderID with "builders" replaced by "verifiers"; empty when
	// signing is disabled, and then VSAs are refused.
	VerifierID string `json:"verifierID"`
}

// AdmissionConfig configures the Kubernetes admission webhook.
type AdmissionConfig struct {
	// Listen is the HTTPS address of the webhook; empty turns it off.
	// Paths: /admission/validate and /admission/mutate.
	Listen string `json:"listen"`
	// TLS is the webhook's serving certificate (required: the API server
	// only calls webhooks over HTTPS).
	TLS TLSConfig `json:"tls"`
	// ClientCAFile, if set, is a PEM bundle of CAs; the webhook then accepts
	// only callers with a client certificate they issued (the API server's
	// --proxy-client-cert-file, or an admission configuration's client
	// certificate). Empty (the default) accepts any caller that can reach
	// the listener.
	ClientCAFile string `json:"clientCAFile"`
	// Policy names the policy admission uses. Default: verify.defaultPolicy.
	Policy string `json:"policy"`
	// Timeout bounds the verification of all images of one review; keep it
	// below the webhook configuration's timeoutSeconds. Default 8s.
	Timeout Duration `json:"timeout"`
}
