package config

import (
	"strings"
	"testing"
	"time"
)

func TestVerifyConfig(t *testing.T) {
	c, err := Load(writeConfig(t, issuers+`verify:
  policies: [/etc/hallmark/prod.yaml, /etc/hallmark/dev.yaml]
  defaultPolicy: prod
  allowTTL: 5m
  denyTTL: 0s
  cacheSize: 100
  verifierID: https://hallmark.example.com/verifiers/prod
  maxConcurrent: 4
  limits: {maxManifestBytes: 1048576, maxBundles: 8}
admission:
  listen: 127.0.0.1:8443
  tls: {certFile: /etc/hallmark/webhook.crt, keyFile: /etc/hallmark/webhook.key}
  policy: prod
  timeout: 5s
debug: {pprofListen: "127.0.0.1:6060"}
`))
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	v, a := c.Verify, c.Admission
	if len(v.Policies) != 2 || v.DefaultPolicy != "prod" || v.AllowTTL == nil || time.Duration(*v.AllowTTL) != 5*time.Minute ||
		v.DenyTTL == nil || *v.DenyTTL != 0 || v.CacheSize == nil || *v.CacheSize != 100 {
		t.Errorf("verify = %+v", v)
	}
	// Limits not set keep their defaults.
	if want := (VerifyLimitsConfig{MaxManifestBytes: 1 << 20, MaxReferrers: 1024, MaxBundles: 8, MaxBundleBytes: 16 << 20, MaxConfigBytes: 4 << 20}); v.MaxConcurrent != 4 || v.Limits != want {
		t.Errorf("verify.maxConcurrent %d, limits %+v; want 4, %+v", v.MaxConcurrent, v.Limits, want)
	}
	if a.Listen != "127.0.0.1:8443" || a.Policy != "prod" || time.Duration(a.Timeout) != 5*time.Second || a.TLS.KeyFile == "" {
		t.Errorf("admission = %+v", a)
	}
	// Defaults: no policies (VerifyService off), webhook off, 8s timeout.
	d, err := Load(writeConfig(t, issuers))
	if err != nil {
		t.Fatal(err)
	}
	if d.Verify.MaxConcurrent != 16 || d.Verify.Limits != DefaultVerifyLimits() {
		t.Errorf("defaults: verify.maxConcurrent %d, limits %+v", d.Verify.MaxConcurrent, d.Verify.Limits)
	}
	if len(d.Verify.Policies) != 0 || d.Admission.Listen != "" || time.Duration(d.Admission.Timeout) != 8*time.Second || d.Debug.PprofListen != "" {
		t.Errorf("defaults: verify %+v admission %+v", d.Verify, d.Admission)
	}
}

func TestAdmissionGenerateConfig(t *testing.T) {
	c, err := Load(writeConfig(t, issuers+`verify:
  policies: [/etc/hallmark/prod.yaml]
admission:
  listen: 127.0.0.1:8443
  tls:
    generate:
      secret: hallmark-system/hallmark-webhook-certs
      service: hallmarkd-webhook
      validatingWebhookConfigurations: [hallmark]
      mutatingWebhookConfigurations: [hallmark, hallmark-pin]
      interval: 30m
`))
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	g := c.Admission.TLS.Generate
	if g == nil || g.Secret != "hallmark-system/hallmark-webhook-certs" || g.Service != "hallmarkd-webhook" ||
		len(g.ValidatingWebhookConfigurations) != 1 || len(g.MutatingWebhookConfigurations) != 2 ||
		time.Duration(g.Interval) != 30*time.Minute || g.Kubeconfig != "" || c.Admission.TLS.CertFile != "" {
		t.Errorf("admission.tls = %+v, generate %+v", c.Admission.TLS, g)
	}
}

func TestVerifyConfigMistakes(t *testing.T) {
	const tls = "  tls: {certFile: c, keyFile: k}\n"
	const gen = "{secret: hallmark-system/hallmark-webhook-certs, service: hallmarkd-webhook, validatingWebhookConfigurations: [hallmark]}"
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"empty policy path", "verify:\n  policies: [\"\"]\n", "verify.policies[0]: is empty"},
		{"negative TTL", "verify:\n  policies: [p]\n  denyTTL: -1s\n", "verify.denyTTL: -1s is negative"},
		{"negative cache", "verify:\n  policies: [p]\n  cacheSize: -1\n", "verify.cacheSize: -1 is negative"},
		{"no verification slot", "verify:\n  maxConcurrent: 0\n", "verify.maxConcurrent: 0 is below 1"},
		{"manifest limit too large", "verify:\n  limits: {maxManifestBytes: 209715200}\n", "verify.limits.maxManifestBytes: 209715200 is not between 1024 and 104857600"},
		{"no bundles", "verify:\n  limits: {maxBundles: 0}\n", "verify.limits.maxBundles: 0 is not between"},
		{"bundle limit over the publishing limit", "verify:\n  limits: {maxBundleBytes: 33554432}\n", "verify.limits.maxBundleBytes: 33554432 is not between"},
		{"limits typo", "verify:\n  limits: {maxReferers: 5}\n", "verify.limits.maxReferers: unknown field"},
		{"relative verifier id", "verify:\n  policies: [p]\n  verifierID: verifiers/x\n", `verify.verifierID: "verifiers/x" is not an absolute URI`},
		{"webhook without TLS", "verify:\n  policies: [p]\nadmission:\n  listen: 127.0.0.1:8443\n", "admission.tls: certFile and keyFile are required"},
		{"webhook without policies", "admission:\n  listen: 127.0.0.1:8443\n" + tls, "admission: needs at least one policy"},
		{"bad webhook address", "verify:\n  policies: [p]\nadmission:\n  listen: 8443\n" + tls, `admission.listen: "8443" is not host:port`},
		{"webhook timeout too long", "verify:\n  policies: [p]\nadmission:\n  listen: :8443\n  timeout: 1m\n" + tls, "admission.timeout: 1m0s is not between"},
		{"files and generate", "verify:\n  policies: [p]\nadmission:\n  listen: :8443\n  tls: {certFile: c, keyFile: k, generate: " + gen + "}\n", "admission.tls: certFile and keyFile, or generate: not both"},
		{"generate: secret without namespace", "verify:\n  policies: [p]\nadmission:\n  listen: :8443\n  tls: {generate: {secret: certs, service: s, mutatingWebhookConfigurations: [h]}}\n", `admission.tls.generate.secret: "certs" is not namespace/name`},
		{"generate: bad service", "verify:\n  policies: [p]\nadmission:\n  listen: :8443\n  tls: {generate: {secret: ns/certs, service: My_Svc, mutatingWebhookConfigurations: [h]}}\n", `admission.tls.generate.service: "My_Svc" is not a Service name`},
		{"generate: no webhook configuration", "verify:\n  policies: [p]\nadmission:\n  listen: :8443\n  tls: {generate: {secret: ns/certs, service: s}}\n", "admission.tls.generate: names no webhook configuration"},
		{"generate: bad configuration name", "verify:\n  policies: [p]\nadmission:\n  listen: :8443\n  tls: {generate: {secret: ns/certs, service: s, validatingWebhookConfigurations: [\"Bad Name\"]}}\n", `admission.tls.generate.validatingWebhookConfigurations[0]: "Bad Name" is not a Kubernetes name`},
		{"generate: interval too short", "verify:\n  policies: [p]\nadmission:\n  listen: :8443\n  tls: {generate: {secret: ns/certs, service: s, mutatingWebhookConfigurations: [h], interval: 5s}}\n", "admission.tls.generate.interval: 5s is not between 1m and 24h"},
		{"generate: typo", "verify:\n  policies: [p]\nadmission:\n  listen: :8443\n  tls: {generate: {secret: ns/certs, service: s, webhooks: [h]}}\n", "admission.tls.generate.webhooks: unknown field"},
		{"bad pprof address", "debug: {pprofListen: localhost}\n", `debug.pprofListen: "localhost" is not host:port`},
		{"typo", "verify:\n  polices: [p]\n", "verify.polices: unknown field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tt.yaml+issuers))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("loadConfig = %v, want an error with %q", err, tt.want)
			}
		})
	}
}
