package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"time"
)

// Config is hallmarkd's configuration file (YAML). Every field has a default
// that runs against the dev stack (`hallmark dev up`): see Default.
type Config struct {
	// Listen is the address the API listens on. Default 127.0.0.1:7433.
	Listen string `json:"listen"`
	// TLS serves HTTPS when both files are set; otherwise HTTP/2 cleartext
	// (h2c), which is refused on a non-loopback listen address unless
	// AllowInsecure is set.
	TLS TLSConfig `json:"tls"`
	// AllowInsecure serves h2c without TLS on a non-loopback address, e.g.
	// behind a service mesh that terminates TLS. Dangerous: callers' tokens
	// cross the network in clear text. The default refuses it.
	AllowInsecure bool `json:"allowInsecure"`
	// Metrics configures the Prometheus endpoint /metrics.
	Metrics MetricsConfig `json:"metrics"`
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
	// DataDir holds uploaded contexts, build scratch space and, by
	// default, the store's SQLite database.
	DataDir string `json:"dataDir"`
	// Contexts configures where uploaded contexts are shared between
	// replicas.
	Contexts ContextsConfig `json:"contexts"`
	// Store is where the gateway records builds, decisions and the audit
	// log (docs/store.md).
	Store StoreConfig `json:"store"`
	// RegistryEvents takes a registry's notifications (pushes, pulls and
	// deletions of manifests, with the registry's user) into the audit log
	// (docs/registry-events.md).
	RegistryEvents RegistryEventsConfig `json:"registryEvents"`
	// Debian configures base image builds from Debian packages
	// (BuildService.BuildBase, docs/base-images.md).
	Debian DebianConfig `json:"debian"`
	// VulnDB configures the advisory database (docs/vulnerabilities.md).
	VulnDB VulnDBConfig `json:"vulndb"`
	// Limits bound what callers can make the gateway hold.
	Limits LimitsConfig `json:"limits"`
	// Log configures logging.
	Log LogConfig `json:"log"`
	// Debug holds operator diagnostics.
	Debug DebugConfig `json:"debug"`
	// UI configures the web view at /ui/ (docs/ui.md).
	UI UIConfig `json:"ui"`
}

// MetricsConfig configures /metrics.
type MetricsConfig struct {
	// TokenFile, if set, holds a bearer token that scrapers must send
	// (Authorization: Bearer <token>); re-read at start. Empty (the
	// default) serves metrics to anyone who can reach the listener.
	TokenFile string `json:"tokenFile"`
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
	// ReuseCertificate keeps the ephemeral key and its Fulcio certificate
	// in memory and signs later builds with them for up to this long (while
	// the certificate stays valid for a minute more), saving a Fulcio round
	// trip and a token read per build. Zero, the default, gets a new key and
	// certificate for every build (each build's statements always share
	// one).
	ReuseCertificate Duration `json:"reuseCertificate"`
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
	// Frontends lists the frontend images a "# syntax=" directive may
	// select, each pinned by digest: "name[:tag]@sha256:<hex>"
	// (docker.io/docker/dockerfile:1.7@sha256:…). Empty (the default)
	// refuses every "# syntax=" directive: builds use BuildKit's built-in
	// Dockerfile frontend.
	Frontends []string `json:"frontends"`
	// Vulnerabilities decides which advisories matching an image's SBOM
	// fail its build.
	Vulnerabilities VulnerabilitiesConfig `json:"vulnerabilities"`
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

// BuildKitConfig names the BuildKit daemons (workers) that run builds
// (docs/deploy.md, "The worker pool").
type BuildKitConfig struct {
	// Address is the short form of a pool of one: workers: [address].
	// Setting both is an error.
	Address string `json:"address,omitempty"`
	// Workers lists the BuildKit daemons, each unix:///path or
	// tcp://host:port. Each build goes to one of them, chosen by a
	// consistent hash of its cache scope, so the builds of one repository
	// reuse one worker's cache; workers that fail health checks are
	// skipped.
	Workers []string `json:"workers,omitempty"`
	// Discover finds the workers by DNS instead, at start and every 30s:
	//   - "dns+srv://_grpc._tcp.buildkitd.hallmark-buildkit.svc.cluster.local"
	//     looks up SRV records (a headless Service of a StatefulSet has
	//     one per ready pod, naming its stable host name); each is a worker
	//     tcp://target:port, so a restarted pod keeps its builds;
	//   - "dns+tcp://buildkitd.hallmark-buildkit.svc.cluster.local:1234"
	//     looks up the A and AAAA records of the host; each address is a
	//     worker tcp://ip:port.
	// Workers listed too are kept whatever DNS says.
	Discover string `json:"discover,omitempty"`
	// MaxParallel is how many builds run at once on each worker; the rest
	// queue. Default 2.
	MaxParallel int `json:"maxParallel"`
	// MaxQueued is how many builds may wait for a slot of each worker; one
	// more is refused with RESOURCE_EXHAUSTED. Default 64.
	MaxQueued int `json:"maxQueued"`
}

// DiscoverHostPort splits Discover, "dns+tcp://host:port", into the host
// to look up and the workers' port; for "dns+srv://name" the host is the
// SRV name and the port is empty (each record has its own).
func (b BuildKitConfig) DiscoverHostPort() (host, port string, err error) {
	u, err := url.Parse(b.Discover)
	if err == nil && u.Scheme == "dns+srv" && u.Host != "" && u.Port() == "" && (u.Path == "" || u.Path == "/") && u.User == nil && u.RawQuery == "" {
		return u.Host, "", nil
	}
	if err != nil || u.Scheme != "dns+tcp" || u.Hostname() == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") || u.User != nil || u.RawQuery != "" {
		return "", "", fmt.Errorf("%q is not dns+srv://name or dns+tcp://host:port", b.Discover)
	}
	return u.Hostname(), u.Port(), nil
}

// WorkerAddresses are the configured workers: Workers, or Address as a
// list of one.
func (b BuildKitConfig) WorkerAddresses() []string {
	if len(b.Workers) > 0 {
		return b.Workers
	}
	if b.Address != "" {
		return []string{b.Address}
	}
	return nil
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

// Store drivers (store.driver).
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
)

// StoreConfig configures the store.
type StoreConfig struct {
	// Driver is sqlite (the default: one file, nothing to install) or
	// postgres (several gateway replicas share one store).
	Driver string `json:"driver"`
	// Path is the SQLite database file. Default <dataDir>/store.db.
	Path string `json:"path"`
	// DSN is the PostgreSQL connection string ("postgres://user@host:5432/db"
	// or "host=… user=… dbname=…"), without its password.
	DSN string `json:"dsn"`
	// PasswordFile holds the PostgreSQL password; re-read at start.
	// Passwords are never written inline in the config.
	PasswordFile string `json:"passwordFile"`
	// DecisionRetention is how long verification and admission decisions
	// are kept; builds, tag moves and attestations are kept forever.
	// Default 720h (30 days).
	DecisionRetention Duration `json:"decisionRetention"`
}

// RegistryEventsConfig configures POST /registry/events, the endpoint a
// distribution registry's notifications are sent to. One registry per
// gateway: the token says who sends, Registry which registry's
// repositories the events name.
type RegistryEventsConfig struct {
	// Registry is the "host[:port]" of the registry, as image references
	// (and registries[].host) name it. The events' own hosts and URLs are
	// never used. Empty (the default) serves no endpoint.
	Registry string `json:"registry"`
	// TokenFile holds the bearer token the registry sends (its endpoint's
	// headers: Authorization: [Bearer <token>]); read at start, at least 16
	// characters. Required with registry.
	TokenFile string `json:"tokenFile"`
}

// ContextsConfig configures uploaded build contexts beyond dataDir.
type ContextsConfig struct {
	// SharedRepository ("registry/path") is a registry repository where
	// every upload is kept too, so that any replica builds what another
	// was uploaded (docs/deploy.md). Only the gateway may read or write
	// it: the archives are callers' sources. Empty (the default) keeps
	// contexts in dataDir alone, which is enough for one replica.
	SharedRepository string `json:"sharedRepository"`
}

// LimitsConfig bounds inputs.
type LimitsConfig struct {
	// MaxContextBytes bounds one uploaded context archive. Default 512 MiB.
	MaxContextBytes int64 `json:"maxContextBytes"`
	// MaxMessageBytes bounds one API message. Default 4 MiB.
	MaxMessageBytes int `json:"maxMessageBytes"`
	// BuildTimeout bounds one build, queue time included. Default 1h.
	BuildTimeout Duration `json:"buildTimeout"`
	// ContextQuotaBytes bounds the uploaded contexts one identity (issuer
	// and subject) holds; an upload over it is refused with
	// RESOURCE_EXHAUSTED. Default 10 GiB.
	ContextQuotaBytes int64 `json:"contextQuotaBytes"`
	// ContextTTL is how long an uploaded context is kept after its
	// owner's last upload of it or build from it; garbage collection then
	// removes it. At least buildTimeout. Default 24h.
	ContextTTL Duration `json:"contextTTL"`
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

// MarshalJSON writes d as a Go duration string, so a marshalled Config
// loads again.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}
