package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/distribution/reference"

	"github.com/hallmark-dev/hallmark/internal/glob"
)

// IsLoopback reports whether host (of a listen address) can be reached
// only from this machine: "localhost" or a loopback IP. An empty host, which
// listens on every interface, is not.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Validate checks every field and returns all problems at once, joined, in
// the order of the fields in the file; each starts with the field's path
// ("buildkit.maxParallel: …").
func (c Config) Validate() error {
	v := &validation{}
	c.validateServer(v)
	c.validateAuth(v)
	c.validateSigning(v)
	c.validateStore(v)
	c.validateRegistryEvents(v)
	c.validateVulnDB(v)
	c.validateLimits(v)
	c.validateVerify(v)
	c.validatePolicy(v)
	c.validateUI(v)
	if r := c.Contexts.SharedRepository; r != "" {
		if n, err := reference.ParseNamed(r); err != nil || !reference.IsNameOnly(n) {
			v.bad("contexts.sharedRepository", "%q is not registry/repository", r)
		}
	}
	if a := c.Debug.PprofListen; a != "" {
		v.hostPort("debug.pprofListen", a)
	}
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "json", "text")
	return errors.Join(v.errs...)
}

type validation struct{ errs []error }

func (v *validation) bad(field, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
}

func (v *validation) hostPort(field, addr string) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		v.bad(field, "%q is not host:port", addr)
	}
}

func (v *validation) absoluteURI(field, s string) {
	if u, err := url.Parse(s); err != nil || u.Scheme == "" || u.Host == "" {
		v.bad(field, "%q is not an absolute URI", s)
	}
}

func (v *validation) oneOf(field, got string, want ...string) {
	for _, w := range want {
		if got == w {
			return
		}
	}
	list := want[0]
	for i, w := range want[1:] {
		if i == len(want)-2 {
			list += " or " + w
		} else {
			list += ", " + w
		}
	}
	v.bad(field, "%q is not %s", got, list)
}

func (v *validation) globs(field string, patterns []string) {
	for i, p := range patterns {
		if err := glob.Check(p); err != nil {
			v.bad(fmt.Sprintf("%s[%d]", field, i), "%v", err)
		}
	}
}

func (c Config) validateServer(v *validation) {
	v.hostPort("listen", c.Listen)
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		v.bad("tls", "set both certFile and keyFile, or neither")
	}
	if host, _, err := net.SplitHostPort(c.Listen); err == nil && c.TLS.CertFile == "" && !c.AllowInsecure && !IsLoopback(host) {
		v.bad("listen", "%q is not a loopback address and tls is not set: callers' tokens would cross the network in clear text; set tls.certFile and tls.keyFile, or allowInsecure: true behind a proxy that terminates TLS", c.Listen)
	}
	c.validateBuildKit(v)
	for i, r := range c.Registries {
		if r.Host == "" || strings.ContainsAny(r.Host, "/ ") {
			v.bad(fmt.Sprintf("registries[%d].host", i), "%q is not host[:port]", r.Host)
		}
		if (r.Username == "") != (r.PasswordFile == "") {
			v.bad(fmt.Sprintf("registries[%d]", i), "set both username and passwordFile, or neither")
		}
	}
	if c.DataDir == "" {
		v.bad("dataDir", "is required")
	}
}

func (c Config) validateAuth(v *validation) {
	if len(c.Auth.Issuers) == 0 {
		v.bad("auth.issuers", "at least one trusted issuer is required")
	}
	seen := map[string]bool{}
	for i, is := range c.Auth.Issuers {
		if err := is.Check(); err != nil {
			v.errs = append(v.errs, fmt.Errorf("auth.issuers[%d].%w", i, err))
		}
		if seen[is.URL] {
			v.bad(fmt.Sprintf("auth.issuers[%d].url", i), "issuer %q is listed twice", is.URL)
		}
		seen[is.URL] = true
	}
	for i, r := range c.Auth.Rules {
		if err := r.Check(); err != nil {
			v.errs = append(v.errs, fmt.Errorf("auth.rules[%d].%w", i, err))
		}
	}
}

func (c Config) validateSigning(v *validation) {
	s := c.Signing
	if s.Disabled {
		return
	}
	for _, f := range []struct{ name, value string }{
		{"trustedRoot", s.TrustedRoot}, {"signingConfig", s.SigningConfig}, {"tokenFile", s.TokenFile},
	} {
		if f.value == "" {
			v.bad("signing."+f.name, "is required (or set signing.disabledUnsafe)")
		}
	}
	if id := s.Identity; (id.Issuer == "") != (id.SubjectAlternativeName == "") {
		v.bad("signing.identity", "set both issuer and subjectAlternativeName, or neither")
	}
	// Fulcio's certificates are valid for 10 minutes.
	if d := time.Duration(s.ReuseCertificate); d < 0 || d > 10*time.Minute {
		v.bad("signing.reuseCertificate", "%s is not between 0 and 10m", d)
	}
	v.absoluteURI("signing.builderID", s.BuilderID)
}

func (c Config) validateLimits(v *validation) {
	l := c.Limits
	if l.MaxContextBytes < 1<<10 {
		v.bad("limits.maxContextBytes", "%d is below 1 KiB", l.MaxContextBytes)
	}
	if l.MaxMessageBytes < 1<<20 {
		v.bad("limits.maxMessageBytes", "%d is below 1 MiB", l.MaxMessageBytes)
	}
	if l.BuildTimeout < Duration(time.Minute) {
		v.bad("limits.buildTimeout", "%s is below 1m", time.Duration(l.BuildTimeout))
	}
	if l.ContextQuotaBytes < l.MaxContextBytes {
		v.bad("limits.contextQuotaBytes", "%d is below limits.maxContextBytes (%d): no upload of the largest size would fit", l.ContextQuotaBytes, l.MaxContextBytes)
	}
	if l.ContextTTL < l.BuildTimeout {
		v.bad("limits.contextTTL", "%s is below limits.buildTimeout (%s): a context must outlive the builds that use it", time.Duration(l.ContextTTL), time.Duration(l.BuildTimeout))
	}
}

// validateVerifyLimits checks verify.limits against the ranges the verify
// package accepts.
func (c Config) validateVerifyLimits(v *validation) {
	l := c.Verify.Limits
	for _, b := range []struct {
		field    string
		value    int64
		min, max int64
	}{
		{"verify.limits.maxManifestBytes", l.MaxManifestBytes, 1 << 10, 100 << 20},
		{"verify.limits.maxReferrers", int64(l.MaxReferrers), 1, 1 << 20},
		{"verify.limits.maxBundles", int64(l.MaxBundles), 1, 1 << 20},
		{"verify.limits.maxBundleBytes", l.MaxBundleBytes, 1 << 10, 16 << 20},
		{"verify.limits.maxConfigBytes", l.MaxConfigBytes, 1 << 10, 1 << 30},
	} {
		if b.value < b.min || b.value > b.max {
			v.bad(b.field, "%d is not between %d and %d", b.value, b.min, b.max)
		}
	}
}

func (c Config) validateVerify(v *validation) {
	for i, p := range c.Verify.Policies {
		if p == "" {
			v.bad(fmt.Sprintf("verify.policies[%d]", i), "is empty")
		}
	}
	for _, d := range []struct {
		field string
		value *Duration
	}{{"verify.allowTTL", c.Verify.AllowTTL}, {"verify.denyTTL", c.Verify.DenyTTL}} {
		if d.value != nil && *d.value < 0 {
			v.bad(d.field, "%s is negative", time.Duration(*d.value))
		}
	}
	if c.Verify.CacheSize != nil && *c.Verify.CacheSize < 0 {
		v.bad("verify.cacheSize", "%d is negative", *c.Verify.CacheSize)
	}
	if id := c.Verify.VerifierID; id != "" {
		v.absoluteURI("verify.verifierID", id)
	}
	if c.Verify.MaxConcurrent < 1 {
		v.bad("verify.maxConcurrent", "%d is below 1", c.Verify.MaxConcurrent)
	}
	c.validateVerifyLimits(v)
	a := c.Admission
	if a.Listen == "" {
		return
	}
	v.hostPort("admission.listen", a.Listen)
	switch {
	case a.TLS.Generate != nil:
		if a.TLS.CertFile != "" || a.TLS.KeyFile != "" {
			v.bad("admission.tls", "certFile and keyFile, or generate: not both")
		}
		validateGenerate(v, *a.TLS.Generate)
	case a.TLS.CertFile == "" || a.TLS.KeyFile == "":
		v.bad("admission.tls", "certFile and keyFile are required, or generate: the API server calls webhooks over HTTPS only")
	}
	if len(c.Verify.Policies) == 0 {
		v.bad("admission", "needs at least one policy in verify.policies")
	}
	if a.Timeout <= 0 || a.Timeout > Duration(30*time.Second) {
		v.bad("admission.timeout", "%s is not between 0s and 30s", time.Duration(a.Timeout))
	}
}

func (c Config) validatePolicy(v *validation) {
	b := c.Policy.BaseImages
	v.globs("policy.baseImages.allow", b.Allow)
	v.oneOf("policy.baseImages.mode", b.Mode, BaseModePin, BaseModeRequireDigest)
	if b.RequireAttestation != "" && len(c.Verify.Policies) == 0 {
		v.bad("policy.baseImages.requireAttestation", "names policy %q, but verify.policies is empty", b.RequireAttestation)
	}
	v.globs("policy.secretScan.allowPaths", c.Policy.SecretScan.AllowPaths)
	for i, f := range c.Policy.Frontends {
		if err := CheckFrontend(f); err != nil {
			v.bad(fmt.Sprintf("policy.frontends[%d]", i), "%v", err)
		}
	}
	c.validateVulnerabilities(v)
}

// CheckFrontend checks an entry of policy.frontends: an image reference
// pinned by a sha256 digest, "name[:tag]@sha256:<hex>".
func CheckFrontend(ref string) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return fmt.Errorf("%q is not an image reference: %w", clip(ref), err)
	}
	c, ok := named.(reference.Canonical)
	if !ok || c.Digest().Algorithm() != "sha256" {
		return fmt.Errorf("%q is not pinned by digest; write name[:tag]@sha256:<digest>", clip(ref))
	}
	return nil
}

func (c Config) validateStore(v *validation) {
	st := c.Store
	v.oneOf("store.driver", st.Driver, StoreSQLite, StorePostgres)
	switch st.Driver {
	case StoreSQLite:
		if st.DSN != "" || st.PasswordFile != "" {
			v.bad("store", "dsn and passwordFile are for driver postgres; sqlite takes path")
		}
	case StorePostgres:
		if st.DSN == "" {
			v.bad("store.dsn", "is required for driver postgres")
		}
		if st.Path != "" {
			v.bad("store.path", "is for driver sqlite; postgres takes dsn")
		}
		if dsnHasPassword(st.DSN) {
			v.bad("store.dsn", "holds a password: put it in store.passwordFile, never inline")
		}
	}
	if st.DecisionRetention < Duration(time.Hour) {
		v.bad("store.decisionRetention", "%s is under 1h", time.Duration(st.DecisionRetention))
	}
}

// dsnHasPassword reports a password in a postgres:// URL or a key=value
// connection string.
func dsnHasPassword(dsn string) bool {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		_, set := u.User.Password()
		return set || u.Query().Has("password")
	}
	for _, f := range strings.Fields(dsn) {
		if strings.HasPrefix(strings.TrimSpace(f), "password=") {
			return true
		}
	}
	return false
}

func (c Config) validateRegistryEvents(v *validation) {
	re := c.RegistryEvents
	switch {
	case re.Registry == "" && re.TokenFile == "":
		return
	case re.Registry == "":
		v.bad("registryEvents.registry", "is required with registryEvents.tokenFile: the host[:port] of the registry that sends the events")
	case strings.ContainsAny(re.Registry, "/@ ") || (re.Registry != "localhost" && !strings.ContainsAny(re.Registry, ".:")):
		v.bad("registryEvents.registry", "%q is not host[:port] with a dot or a port, or localhost", clip(re.Registry))
	}
	if re.TokenFile == "" {
		v.bad("registryEvents.tokenFile", "is required: the registry must authenticate its events")
	}
}

// maxWorkers bounds buildkit.workers.
const maxWorkers = 256

func (c Config) validateBuildKit(v *validation) {
	bk := c.BuildKit
	switch {
	case bk.Address != "" && len(bk.Workers) > 0:
		v.bad("buildkit", "set buildkit.workers or buildkit.address (the short form of a list of one), not both")
	case bk.Address != "" && bk.Discover != "":
		v.bad("buildkit", "set buildkit.discover or buildkit.address, not both (list fixed workers in buildkit.workers)")
	case bk.Address != "":
		buildKitAddress(v, "buildkit.address", bk.Address)
	case len(bk.Workers) == 0 && bk.Discover == "":
		v.bad("buildkit.workers", "no worker: list at least one BuildKit address (or set buildkit.address or buildkit.discover)")
	case len(bk.Workers) > maxWorkers:
		v.bad("buildkit.workers", "%d workers, the limit is %d", len(bk.Workers), maxWorkers)
	}
	seen := map[string]int{}
	for i, w := range bk.Workers {
		field := fmt.Sprintf("buildkit.workers[%d]", i)
		buildKitAddress(v, field, w)
		if j, dup := seen[w]; dup {
			v.bad(field, "%q is also buildkit.workers[%d]", w, j)
		}
		seen[w] = i
	}
	if bk.Discover != "" {
		if _, _, err := bk.DiscoverHostPort(); err != nil {
			v.bad("buildkit.discover", "%v", err)
		}
	}
	if bk.MaxParallel < 1 || bk.MaxParallel > 64 {
		v.bad("buildkit.maxParallel", "%d is not between 1 and 64", bk.MaxParallel)
	}
	if bk.MaxQueued < 1 || bk.MaxQueued > 10000 {
		v.bad("buildkit.maxQueued", "%d is not between 1 and 10000", bk.MaxQueued)
	}
}

// buildKitAddress checks one BuildKit address: unix:///path or
// tcp://host:port.
func buildKitAddress(v *validation, field, addr string) {
	u, err := url.Parse(addr)
	switch {
	case err != nil:
		v.bad(field, "%q is not unix:///path or tcp://host:port", addr)
	case u.Scheme == "unix" && u.Path != "" && u.Host == "":
	case u.Scheme == "tcp" && u.Port() != "" && u.Hostname() != "" && (u.Path == "" || u.Path == "/"):
	default:
		v.bad(field, "%q is not unix:///path or tcp://host:port", addr)
	}
}
