package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/server"
)

// Config is hallmarkd's configuration file (YAML). Every field has a default
// that runs against the dev stack (`hallmark dev up`).
type Config struct {
	// Listen is the address the API listens on. Default 127.0.0.1:7433.
	Listen string `json:"listen"`
	// TLS serves HTTPS when both files are set; otherwise HTTP/2 cleartext
	// (h2c), for local development only.
	TLS TLSConfig `json:"tls"`
	// BuildKit names the daemon that runs builds.
	BuildKit BuildKitConfig `json:"buildkit"`
	// Registries lists registry hosts that need credentials or plain HTTP.
	Registries []RegistryConfig `json:"registries"`
	// Auth says whose tokens are accepted and who may push where.
	Auth AuthConfig `json:"auth"`
	// Policy holds build-time rules the gateway enforces on every build.
	Policy PolicyConfig `json:"policy"`
	// Signing says how the gateway signs the attestations of every image.
	Signing SigningConfig `json:"signing"`
	// Verify configures VerifyService: policies and the verdict cache.
	Verify VerifyConfig `json:"verify"`
	// Admission configures the Kubernetes admission webhook.
	Admission AdmissionConfig `json:"admission"`
	// DataDir holds uploaded contexts and build scratch space.
	DataDir string `json:"dataDir"`
	// Debian configures base image builds from Debian packages
	// (BuildService.BuildBase, docs/base-images.md).
	Debian DebianConfig `json:"debian"`
	// Limits bound what callers can make the gateway hold.
	Limits LimitsConfig `json:"limits"`
	// Log configures logging.
	Log LogConfig `json:"log"`
	// Debug holds operator diagnostics.
	Debug DebugConfig `json:"debug"`
}

// DebugConfig holds operator diagnostics.
type DebugConfig struct {
	// PprofListen serves Go's pprof profiles (/debug/pprof/) on this
	// address, which should be loopback: profiles show internals. Empty (the
	// default) serves none.
	PprofListen string `json:"pprofListen"`
}

// SigningConfig is the gateway's keyless signing setup. The gateway signs as
// itself (it is the build platform); callers' identities go into provenance.
type SigningConfig struct {
	// TrustedRoot and SigningConfig are sigstore-go files: the public-good
	// instance's, a private Sigstore's, or the dev stack's.
	TrustedRoot   string `json:"trustedRoot"`
	SigningConfig string `json:"signingConfig"`
	// TokenFile holds the gateway's OIDC token for Fulcio, re-read before
	// each signing (e.g. a Kubernetes projected service-account token).
	TokenFile string `json:"tokenFile"`
	// BuilderID is the SLSA builder id written into provenance.
	BuilderID string `json:"builderID"`
	// Identity is the gateway's own certificate identity. When set, every
	// signature is checked to carry it, and the verified Hallmark SBOM of a
	// runtime base image signed by it is reused instead of cataloging the
	// base's layers again. Optional.
	Identity IdentityConfig `json:"identity"`
	// Disabled turns attestation off: images are published unattested.
	// Dangerous: only for trying the builder without a Sigstore.
	Disabled bool `json:"disabledUnsafe"`
}

// PolicyConfig holds build-time rules (docs/build-policy.md).
type PolicyConfig struct {
	// AllowRootUnsafe accepts final images whose USER is root or unset.
	// Dangerous; the default refuses them.
	AllowRootUnsafe bool `json:"allowRootUnsafe"`
	// BaseImages limits and pins the images Dockerfiles build on.
	BaseImages BaseImagesConfig `json:"baseImages"`
	// SecretScan configures the scan of built images for secrets.
	SecretScan SecretScanConfig `json:"secretScan"`
}

// IdentityConfig is a Fulcio certificate identity.
type IdentityConfig struct {
	Issuer                 string `json:"issuer"`
	SubjectAlternativeName string `json:"subjectAlternativeName"`
}

// TLSConfig names a certificate and key in PEM files.
type TLSConfig struct {
	CertFile string `json:"certFile"`
	KeyFile  string `json:"keyFile"`
}

// BuildKitConfig names a BuildKit daemon.
type BuildKitConfig struct {
	// Address is unix:///path or tcp://host:port.
	Address string `json:"address"`
	// MaxParallel is how many builds run at once; the rest queue. Default 2.
	MaxParallel int `json:"maxParallel"`
}

// RegistryConfig is one registry host.
type RegistryConfig struct {
	// Host is "host[:port]" as it appears in image references.
	Host string `json:"host"`
	// Insecure speaks plain HTTP to this host.
	Insecure bool `json:"insecure"`
	// Username for basic or token auth.
	Username string `json:"username"`
	// PasswordFile holds the password; re-read at start. Passwords are never
	// written inline in the config.
	PasswordFile string `json:"passwordFile"`
}

// AuthConfig lists trusted token issuers and authorization rules.
type AuthConfig struct {
	Issuers []server.IssuerConfig `json:"issuers"`
	Rules   []server.Rule         `json:"rules"`
}

// LimitsConfig bounds inputs.
type LimitsConfig struct {
	// MaxContextBytes bounds one uploaded context archive. Default 512 MiB.
	MaxContextBytes int64 `json:"maxContextBytes"`
	// MaxMessageBytes bounds one API message. Default 4 MiB.
	MaxMessageBytes int `json:"maxMessageBytes"`
	// BuildTimeout bounds one build, queue time included. Default 1h.
	BuildTimeout Duration `json:"buildTimeout"`
}

// DebianConfig configures base image builds. Packages are resolved with
// the host's apt (its sources and keyring, unless a spec names a mirror).
type DebianConfig struct {
	// CacheDir caches downloaded .deb files by sha256. Default
	// <dataDir>/work/debs.
	CacheDir string `json:"cacheDir"`
}

// LogConfig configures logging.
type LogConfig struct {
	// Level is debug, info, warn or error. Default info.
	Level string `json:"level"`
	// Format is json or text. Default json.
	Format string `json:"format"`
}

// Duration is a time.Duration written as "90s" or "1h".
type Duration time.Duration

// UnmarshalJSON parses a Go duration string. Its error is a
// *json.UnmarshalTypeError, to which the decoder adds the field's path.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := time.ParseDuration(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: fmt.Sprintf("%q (want a duration like 90s or 1h)", s), Type: reflect.TypeFor[Duration]()}
	}
	*d = Duration(v)
	return nil
}

// Dev stack addresses, shared with `hallmark dev` (internal/devstack).
const (
	devListen   = "127.0.0.1:7433"
	devRegistry = "127.0.0.1:7434"
	devIssuer   = "http://127.0.0.1:7435"
	devAudience = "hallmark"
	// devBuilderID matches internal/devstack.BuilderID.
	devBuilderID = "https://hallmark.dev/builders/dev"
)

func defaultConfig() Config {
	home, _ := os.UserCacheDir()
	return Config{
		Listen:     devListen,
		BuildKit:   BuildKitConfig{Address: "unix://" + home + "/hallmark/dev/buildkitd.sock", MaxParallel: 2},
		Registries: []RegistryConfig{{Host: devRegistry, Insecure: true}},
		Auth: AuthConfig{
			Issuers: []server.IssuerConfig{{URL: devIssuer, Audience: devAudience}},
			Rules:   []server.Rule{{Issuer: devIssuer, Repositories: []string{devRegistry + "/**"}}},
		},
		Signing: SigningConfig{
			TrustedRoot:   home + "/hallmark/dev/trusted_root.json",
			SigningConfig: home + "/hallmark/dev/signing_config.json",
			TokenFile:     home + "/hallmark/dev/signing-token",
			BuilderID:     devBuilderID,
			Identity:      IdentityConfig{Issuer: devIssuer, SubjectAlternativeName: devBuilderID},
		},
		DataDir:   home + "/hallmark/gateway",
		Limits:    LimitsConfig{MaxContextBytes: 512 << 20, MaxMessageBytes: 4 << 20, BuildTimeout: Duration(time.Hour)},
		Log:       LogConfig{Level: "info", Format: "json"},
		Policy:    PolicyConfig{BaseImages: BaseImagesConfig{Mode: string(builder.BasePin)}},
		Admission: AdmissionConfig{Timeout: Duration(8 * time.Second)},
	}
}

// loadConfig reads path over the defaults. Unknown fields are errors, so a
// typo never silently falls back to a default.
func loadConfig(path string) (Config, error) {
	c := defaultConfig()
	if path == "" {
		return c, c.validate()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	// Lists replace the defaults rather than merging into them.
	c.Registries, c.Auth.Issuers, c.Auth.Rules = nil, nil, nil
	// So does signing: a file that names its own Sigstore must never inherit
	// the dev stack's trust files or identity pin.
	c.Signing = SigningConfig{}
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		if field := unknownField(data); field != "" {
			return c, fmt.Errorf("parse config %s: %s: unknown field", path, field)
		}
		return c, fmt.Errorf("parse config %s: %w", path, err)
	}
	if err := c.validate(); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// unknownField returns the path, such as "buildkit.maxParalel", of the
// first key in the YAML document data that names no field of Config, or "".
// The decoder's own error names only the key.
func unknownField(data []byte) string {
	var doc any
	if yaml.Unmarshal(data, &doc) != nil {
		return ""
	}
	return unknownFieldIn(doc, reflect.TypeFor[Config](), "")
}

func unknownFieldIn(v any, t reflect.Type, path string) string {
	switch t.Kind() {
	case reflect.Struct:
		m, _ := v.(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			f, ok := fieldByJSONName(t, k)
			if !ok {
				return p
			}
			if u := unknownFieldIn(m[k], f.Type, p); u != "" {
				return u
			}
		}
	case reflect.Slice:
		l, _ := v.([]any)
		for i, e := range l {
			if u := unknownFieldIn(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); u != "" {
				return u
			}
		}
	}
	return ""
}

// fieldByJSONName finds a field the way encoding/json does: by its json
// name, ignoring case.
func fieldByJSONName(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); f.IsExported() && strings.EqualFold(name, key) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func (c Config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not host:port", c.Listen)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls", "set both certFile and keyFile, or neither")
	}
	if u, err := url.Parse(c.BuildKit.Address); err != nil || (u.Scheme != "unix" && u.Scheme != "tcp") {
		bad("buildkit.address", "%q is not unix:///path or tcp://host:port", c.BuildKit.Address)
	}
	if c.BuildKit.MaxParallel < 1 || c.BuildKit.MaxParallel > 64 {
		bad("buildkit.maxParallel", "%d is not between 1 and 64", c.BuildKit.MaxParallel)
	}
	for i, r := range c.Registries {
		if r.Host == "" || strings.ContainsAny(r.Host, "/ ") {
			bad(fmt.Sprintf("registries[%d].host", i), "%q is not host[:port]", r.Host)
		}
		if (r.Username == "") != (r.PasswordFile == "") {
			bad(fmt.Sprintf("registries[%d]", i), "set both username and passwordFile, or neither")
		}
	}
	if len(c.Auth.Issuers) == 0 {
		bad("auth.issuers", "at least one trusted issuer is required")
	}
	for i, is := range c.Auth.Issuers {
		if u, err := url.Parse(is.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad(fmt.Sprintf("auth.issuers[%d].url", i), "%q is not an http(s) URL", is.URL)
		}
		if is.Audience == "" {
			bad(fmt.Sprintf("auth.issuers[%d].audience", i), "is required")
		}
	}
	if !c.Signing.Disabled {
		for field, v := range map[string]string{"trustedRoot": c.Signing.TrustedRoot, "signingConfig": c.Signing.SigningConfig, "tokenFile": c.Signing.TokenFile} {
			if v == "" {
				bad("signing."+field, "is required (or set signing.disabledUnsafe)")
			}
		}
		if id := c.Signing.Identity; (id.Issuer == "") != (id.SubjectAlternativeName == "") {
			bad("signing.identity", "set both issuer and subjectAlternativeName, or neither")
		}
		if u, err := url.Parse(c.Signing.BuilderID); err != nil || u.Scheme == "" || u.Host == "" {
			bad("signing.builderID", "%q is not an absolute URI", c.Signing.BuilderID)
		}
	}
	if c.DataDir == "" {
		bad("dataDir", "is required")
	}
	if c.Limits.MaxContextBytes < 1<<10 {
		bad("limits.maxContextBytes", "%d is below 1 KiB", c.Limits.MaxContextBytes)
	}
	if c.Limits.MaxMessageBytes < 1<<20 {
		bad("limits.maxMessageBytes", "%d is below 1 MiB", c.Limits.MaxMessageBytes)
	}
	if c.Limits.BuildTimeout < Duration(time.Minute) {
		bad("limits.buildTimeout", "%s is below 1m", time.Duration(c.Limits.BuildTimeout))
	}
	c.validateVerify(bad)
	if a := c.Debug.PprofListen; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad("debug.pprofListen", "%q is not host:port", a)
		}
	}
	c.validatePolicy(bad)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		bad("log.format", "%q is not json or text", c.Log.Format)
	}
	return errors.Join(errs...)
}
