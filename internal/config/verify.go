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
	// MaxConcurrent bounds the verifications that run at once (concurrent
	// requests for the same image share one). A request whose verdict is
	// not cached waits for a free slot until its deadline; cached verdicts
	// never wait. Default 16: a verification mostly waits on registries,
	// and the bound is on the memory that many may hold.
	MaxConcurrent int `json:"maxConcurrent"`
	// Limits bound what one verification reads from registries.
	Limits VerifyLimitsConfig `json:"limits"`
}

// VerifyLimitsConfig bounds what one verification reads. An image over a
// limit is not evaluated: VerifyService answers RESOURCE_EXHAUSTED with a
// message naming the limit and its setting, and admission denies it.
type VerifyLimitsConfig struct {
	// MaxManifestBytes bounds every manifest, index and referrers response
	// (the image's, its referrers index from the API or the fallback tag,
	// each referrer manifest). Default 4 MiB, the OCI guidance; at most
	// 100 MiB.
	MaxManifestBytes int64 `json:"maxManifestBytes"`
	// MaxReferrers bounds the entries of an image's referrers index, of
	// every artifact type. Default 1024.
	MaxReferrers int `json:"maxReferrers"`
	// MaxBundles bounds the Sigstore bundle referrers of an image that are
	// fetched and verified (superseded ones, skipped unfetched, do not
	// count: package verify, "How old bundles are treated"); an image that
	// needs more is not evaluated (never a verdict on some of them).
	// Default 32.
	MaxBundles int `json:"maxBundles"`
	// MaxBundleBytes bounds each bundle; a larger one is an attestation
	// that did not verify. Default and maximum 16 MiB, the largest bundle
	// the gateway publishes.
	MaxBundleBytes int64 `json:"maxBundleBytes"`
	// MaxConfigBytes bounds the image config the rules read. Default 4 MiB.
	MaxConfigBytes int64 `json:"maxConfigBytes"`
}

// AdmissionConfig configures the Kubernetes admission webhook.
type AdmissionConfig struct {
	// Listen is the HTTPS address of the webhook; empty turns it off.
	// Paths: /admission/validate and /admission/mutate.
	Listen string `json:"listen"`
	// TLS is the webhook's serving certificate (required: the API server
	// only calls webhooks over HTTPS): certFile and keyFile, or generate.
	TLS AdmissionTLSConfig `json:"tls"`
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

// AdmissionTLSConfig is the webhook's serving certificate: PEM files
// (certFile and keyFile, made by the operator or cert-manager) or, with
// generate, a certificate the gateway makes, renews and publishes itself.
type AdmissionTLSConfig struct {
	CertFile string `json:"certFile"`
	KeyFile  string `json:"keyFile"`
	// Generate, when set, replaces certFile and keyFile: docs/deploy.md.
	Generate *GenerateTLSConfig `json:"generate,omitempty"`
}

// GenerateTLSConfig makes the gateway keep its webhook certificate: a
// self-signed CA and a serving certificate for the webhook's Service, in
// one Secret all replicas share, renewed before expiry, with the CA
// patched into the caBundle of the named webhook configurations. The
// gateway's service account needs get and update on that Secret, create on
// Secrets in its namespace, and get and patch on the named webhook
// configurations.
type GenerateTLSConfig struct {
	// Secret is the Secret holding the CA and the certificate, as
	// namespace/name; the Service is in the same namespace.
	Secret string `json:"secret"`
	// Service is the name of the webhook's Service: the certificate is for
	// <service>.<namespace>.svc and <service>.<namespace>.svc.cluster.local.
	Service string `json:"service"`
	// ValidatingWebhookConfigurations and MutatingWebhookConfigurations
	// name the configurations whose webhooks get the CA as caBundle; at
	// least one name in all.
	ValidatingWebhookConfigurations []string `json:"validatingWebhookConfigurations"`
	MutatingWebhookConfigurations   []string `json:"mutatingWebhookConfigurations"`
	// Kubeconfig is the kubeconfig file to reach the API server with;
	// empty (the default) uses the Pod's service account (in-cluster).
	Kubeconfig string `json:"kubeconfig"`
	// Interval is how often the Secret is checked and the caBundles
	// reconciled, between 1m and 24h. Default 1h.
	Interval Duration `json:"interval"`
}
