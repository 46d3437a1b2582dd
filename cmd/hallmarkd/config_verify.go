package main

import (
	"fmt"
	"net"
	"net/url"
	"time"
)

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
	// Policy names the policy admission uses. Default: verify.defaultPolicy.
	Policy string `json:"policy"`
	// Timeout bounds the verification of all images of one review; keep it
	// below the webhook configuration's timeoutSeconds. Default 8s.
	Timeout Duration `json:"timeout"`
}

func (c Config) validateVerify(bad func(field, format string, args ...any)) {
	for i, p := range c.Verify.Policies {
		if p == "" {
			bad(fmt.Sprintf("verify.policies[%d]", i), "is empty")
		}
	}
	for field, d := range map[string]*Duration{"verify.allowTTL": c.Verify.AllowTTL, "verify.denyTTL": c.Verify.DenyTTL} {
		if d != nil && *d < 0 {
			bad(field, "%s is negative", time.Duration(*d))
		}
	}
	if c.Verify.CacheSize != nil && *c.Verify.CacheSize < 0 {
		bad("verify.cacheSize", "%d is negative", *c.Verify.CacheSize)
	}
	if id := c.Verify.VerifierID; id != "" {
		if u, err := url.Parse(id); err != nil || u.Scheme == "" || u.Host == "" {
			bad("verify.verifierID", "%q is not an absolute URI", id)
		}
	}
	a := c.Admission
	if a.Listen == "" {
		return
	}
	if _, _, err := net.SplitHostPort(a.Listen); err != nil {
		bad("admission.listen", "%q is not host:port", a.Listen)
	}
	if a.TLS.CertFile == "" || a.TLS.KeyFile == "" {
		bad("admission.tls", "certFile and keyFile are required: the API server calls webhooks over HTTPS only")
	}
	if len(c.Verify.Policies) == 0 {
		bad("admission", "needs at least one policy in verify.policies")
	}
	if a.Timeout <= 0 || a.Timeout > Duration(30*time.Second) {
		bad("admission.timeout", "%s is not between 0s and 30s", time.Duration(a.Timeout))
	}
}
