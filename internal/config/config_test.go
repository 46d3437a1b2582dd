package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// issuers is the smallest auth section a config file needs.
const issuers = `
signing: {disabledUnsafe: true}
auth:
  issuers:
  - url: https://token.actions.githubusercontent.com
    audience: hallmark
`

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hallmarkd.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultConfig(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatalf("Load(\"\"): %v", err)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("default config does not validate: %v", err)
	}
	if c.Listen != DevListen || c.BuildKit.MaxParallel != 2 || !strings.HasPrefix(c.BuildKit.Address, "unix://") ||
		c.Limits.MaxContextBytes != 512<<20 || c.Limits.MaxMessageBytes != 4<<20 || time.Duration(c.Limits.BuildTimeout) != time.Hour ||
		c.Limits.ContextQuotaBytes != 10<<30 || time.Duration(c.Limits.ContextTTL) != 24*time.Hour ||
		c.Log != (LogConfig{Level: "info", Format: "json"}) || c.TLS != (TLSConfig{}) || c.DataDir == "" {
		t.Errorf("default config = %+v", c)
	}
	if !slices.Equal(c.Registries, []RegistryConfig{{Host: DevRegistry, Insecure: true}}) {
		t.Errorf("default registries = %+v", c.Registries)
	}
	if !slices.Equal(c.Auth.Issuers, []Issuer{{URL: DevIssuer, Audience: DevAudience}}) {
		t.Errorf("default issuers = %+v", c.Auth.Issuers)
	}
	if len(c.Auth.Rules) != 2 || c.Auth.Rules[0].Issuer != DevIssuer || !slices.Equal(c.Auth.Rules[0].Repositories, []string{DevRegistry + "/**"}) ||
		!c.Auth.Rules[1].Admin || c.Auth.Rules[1].Subject != DevAdminSubject {
		t.Errorf("default rules = %+v", c.Auth.Rules)
	}
	// The default rules are usable as they are.
	for i, r := range c.Auth.Rules {
		if err := r.Check(); err != nil {
			t.Errorf("default rule %d: %v", i, err)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	p := writeConfig(t, `
listen: 0.0.0.0:8443
signing:
  trustedRoot: /etc/hallmark/trusted_root.json
  signingConfig: /etc/hallmark/signing_config.json
  tokenFile: /var/run/secrets/tokens/sigstore
  builderID: https://hallmark.example.com/builders/prod
tls:
  certFile: /etc/hallmark/tls.crt
  keyFile: /etc/hallmark/tls.key
buildkit:
  address: tcp://buildkitd.hallmark.svc:1234
  maxParallel: 8
registries:
- host: registry.example.com
  username: hallmark
  passwordFile: /etc/hallmark/registry-password
- host: 10.0.0.5:5000
  insecure: true
auth:
  issuers:
  - url: https://token.actions.githubusercontent.com
    audience: hallmark
  - url: https://gitlab.example.com
    audience: hallmark-gitlab
  rules:
  - issuer: https://token.actions.githubusercontent.com
    subject: "repo:acme/*:ref:refs/heads/main"
    claims:
      repository_owner: acme
    repositories:
    - registry.example.com/acme/**
dataDir: /var/lib/hallmark
limits:
  maxContextBytes: 1048576
  maxMessageBytes: 8388608
  buildTimeout: 1h30m
  contextQuotaBytes: 2147483648
  contextTTL: 48h
log:
  level: debug
  format: text
`)
	c, err := Load(p)
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	want := Config{
		Listen:   "0.0.0.0:8443",
		TLS:      TLSConfig{CertFile: "/etc/hallmark/tls.crt", KeyFile: "/etc/hallmark/tls.key"},
		BuildKit: BuildKitConfig{Address: "tcp://buildkitd.hallmark.svc:1234", MaxParallel: 8, MaxQueued: 64},
		Registries: []RegistryConfig{
			{Host: "registry.example.com", Username: "hallmark", PasswordFile: "/etc/hallmark/registry-password"},
			{Host: "10.0.0.5:5000", Insecure: true},
		},
		DataDir: "/var/lib/hallmark",
		Limits: LimitsConfig{
			MaxContextBytes: 1 << 20, MaxMessageBytes: 8 << 20, BuildTimeout: Duration(90 * time.Minute),
			ContextQuotaBytes: 2 << 30, ContextTTL: Duration(48 * time.Hour),
		},
		Log: LogConfig{Level: "debug", Format: "text"},
	}
	if c.Listen != want.Listen || c.TLS != want.TLS || !reflect.DeepEqual(c.BuildKit, want.BuildKit) || !slices.Equal(c.Registries, want.Registries) ||
		c.DataDir != want.DataDir || c.Limits != want.Limits || c.Log != want.Log {
		t.Errorf("loadConfig =\n%+v\nwant\n%+v", c, want)
	}
	wantIssuers := []Issuer{
		{URL: "https://token.actions.githubusercontent.com", Audience: "hallmark"},
		{URL: "https://gitlab.example.com", Audience: "hallmark-gitlab"},
	}
	if !slices.Equal(c.Auth.Issuers, wantIssuers) {
		t.Errorf("issuers = %+v, want %+v", c.Auth.Issuers, wantIssuers)
	}
	if len(c.Auth.Rules) != 1 || c.Auth.Rules[0].Subject != "repo:acme/*:ref:refs/heads/main" ||
		c.Auth.Rules[0].Claims["repository_owner"] != "acme" || !slices.Equal(c.Auth.Rules[0].Repositories, []string{"registry.example.com/acme/**"}) {
		t.Errorf("rules = %+v", c.Auth.Rules)
	}
}

func TestLoadConfigListsReplaceDefaults(t *testing.T) {
	tests := []struct {
		name           string
		yaml           string
		wantRegistries []RegistryConfig
		wantIssuers    []Issuer
		wantRules      int
	}{
		{
			// The default registry is insecure; a listed one must not inherit that.
			name:           "one registry",
			yaml:           "registries:\n- host: registry.example.com\n" + issuers,
			wantRegistries: []RegistryConfig{{Host: "registry.example.com"}},
			wantIssuers:    []Issuer{{URL: "https://token.actions.githubusercontent.com", Audience: "hallmark"}},
		},
		{
			name:        "empty registries",
			yaml:        "registries: []\n" + issuers,
			wantIssuers: []Issuer{{URL: "https://token.actions.githubusercontent.com", Audience: "hallmark"}},
		},
		{
			// A file never inherits the dev stack's issuer, rules or registry.
			name:        "no lists",
			yaml:        issuers,
			wantIssuers: []Issuer{{URL: "https://token.actions.githubusercontent.com", Audience: "hallmark"}},
		},
		{
			name:        "rules",
			yaml:        issuers + "  rules:\n  - issuer: https://token.actions.githubusercontent.com\n    repositories: [r.example.com/a/*]\n  - issuer: https://token.actions.githubusercontent.com\n    repositories: [r.example.com/b/*]\n",
			wantIssuers: []Issuer{{URL: "https://token.actions.githubusercontent.com", Audience: "hallmark"}},
			wantRules:   2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, tt.yaml))
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			if !slices.Equal(c.Registries, tt.wantRegistries) {
				t.Errorf("registries = %+v, want %+v", c.Registries, tt.wantRegistries)
			}
			if !slices.Equal(c.Auth.Issuers, tt.wantIssuers) {
				t.Errorf("issuers = %+v, want %+v", c.Auth.Issuers, tt.wantIssuers)
			}
			if len(c.Auth.Rules) != tt.wantRules {
				t.Errorf("rules = %+v, want %d", c.Auth.Rules, tt.wantRules)
			}
			// Scalars not in the file keep their defaults.
			d := Default()
			if c.Listen != d.Listen || !reflect.DeepEqual(c.BuildKit, d.BuildKit) || c.DataDir != d.DataDir || c.Limits != d.Limits || c.Log != d.Log {
				t.Errorf("scalars = %+v, want the defaults", c)
			}
		})
	}
}

func TestLoadConfigMistakes(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		// want are parts of the error; the first names the field path.
		want []string
	}{
		{name: "unknown top-level field", yaml: "listn: 127.0.0.1:1\n" + issuers, want: []string{"listn: unknown field"}},
		{name: "unknown nested field", yaml: "buildkit:\n  maxParalel: 2\n" + issuers, want: []string{"buildkit.maxParalel: unknown field"}},
		{name: "unknown field in a list", yaml: "registries:\n- host: r.example.com\n- host: s.example.com\n  insecur: true\n" + issuers, want: []string{"registries[1].insecur: unknown field"}},
		{name: "unknown field in an issuer", yaml: issuers + "    audiences: [x]\n", want: []string{"auth.issuers[0].audiences: unknown field"}},
		{name: "listen without port", yaml: "listen: 127.0.0.1\n" + issuers, want: []string{"listen: ", `"127.0.0.1"`}},
		{name: "empty listen", yaml: "listen: \"\"\n" + issuers, want: []string{"listen: "}},
		{name: "tls cert only", yaml: "tls:\n  certFile: /c.pem\n" + issuers, want: []string{"tls: ", "both"}},
		{name: "tls key only", yaml: "tls:\n  keyFile: /k.pem\n" + issuers, want: []string{"tls: "}},
		{name: "buildkit http address", yaml: "buildkit:\n  address: http://buildkitd:1234\n" + issuers, want: []string{"buildkit.address: "}},
		{name: "buildkit path without scheme", yaml: "buildkit:\n  address: /run/buildkit/buildkitd.sock\n" + issuers, want: []string{"buildkit.address: "}},
		{name: "buildkit address and workers", yaml: "buildkit:\n  address: tcp://a:1234\n  workers: [tcp://b:1234]\n" + issuers, want: []string{"buildkit: ", "buildkit.workers or buildkit.address", "not both"}},
		{name: "buildkit workers empty", yaml: "buildkit:\n  workers: []\n" + issuers, want: []string{"buildkit.workers: ", "no worker"}},
		{name: "buildkit worker http", yaml: "buildkit:\n  workers: [tcp://a:1234, http://b:1234]\n" + issuers, want: []string{"buildkit.workers[1]: ", `"http://b:1234" is not unix:///path or tcp://host:port`}},
		{name: "buildkit worker tcp without port", yaml: "buildkit:\n  workers: [tcp://a]\n" + issuers, want: []string{"buildkit.workers[0]: "}},
		{name: "buildkit worker unix without path", yaml: "buildkit:\n  workers: [\"unix://\"]\n" + issuers, want: []string{"buildkit.workers[0]: "}},
		{name: "buildkit worker twice", yaml: "buildkit:\n  workers: [tcp://a:1234, tcp://b:1234, tcp://a:1234]\n" + issuers, want: []string{"buildkit.workers[2]: ", "also buildkit.workers[0]"}},
		{name: "buildkit address and discover", yaml: "buildkit:\n  address: tcp://a:1234\n  discover: dns+tcp://b:1234\n" + issuers, want: []string{"buildkit: ", "buildkit.discover or buildkit.address"}},
		{name: "buildkit discover without port", yaml: "buildkit:\n  discover: dns+tcp://buildkitd.ns.svc\n" + issuers, want: []string{"buildkit.discover: ", "is not dns+srv://name or dns+tcp://host:port"}},
		{name: "buildkit discover tcp", yaml: "buildkit:\n  discover: tcp://buildkitd.ns.svc:1234\n" + issuers, want: []string{"buildkit.discover: "}},
		{name: "maxParallel 0", yaml: "buildkit:\n  maxParallel: 0\n" + issuers, want: []string{"buildkit.maxParallel: ", "0 is not between 1 and 64"}},
		{name: "maxParallel 65", yaml: "buildkit:\n  maxParallel: 65\n" + issuers, want: []string{"buildkit.maxParallel: "}},
		{name: "maxParallel not a number", yaml: "buildkit:\n  maxParallel: two\n" + issuers, want: []string{"buildkit.maxParallel"}},
		{name: "registry username without passwordFile", yaml: "registries:\n- host: r.example.com\n  username: ci\n" + issuers, want: []string{"registries[0]: ", "passwordFile"}},
		{name: "registry passwordFile without username", yaml: "registries:\n- host: r.example.com\n- host: s.example.com\n  passwordFile: /p\n" + issuers, want: []string{"registries[1]: "}},
		{name: "registry without host", yaml: "registries:\n- insecure: true\n" + issuers, want: []string{"registries[0].host: "}},
		{name: "registry host with path", yaml: "registries:\n- host: r.example.com/team\n" + issuers, want: []string{"registries[0].host: "}},
		{name: "no auth", yaml: "listen: 127.0.0.1:1\n", want: []string{"auth.issuers: ", "at least one"}},
		{name: "no issuers", yaml: "auth:\n  issuers: []\n", want: []string{"auth.issuers: "}},
		{name: "issuer http URL without host", yaml: "auth:\n  issuers:\n  - url: http:///issuer\n    audience: a\n", want: []string{"auth.issuers[0].url: "}},
		{name: "issuer URL without scheme", yaml: issuers + "  - url: issuer.example.com\n    audience: a\n", want: []string{"auth.issuers[1].url: "}},
		{name: "issuer ftp URL", yaml: "auth:\n  issuers:\n  - url: ftp://issuer.example.com\n    audience: a\n", want: []string{"auth.issuers[0].url: "}},
		{name: "issuer without audience", yaml: "auth:\n  issuers:\n  - url: https://issuer.example.com\n", want: []string{"auth.issuers[0].audience: "}},
		{name: "empty dataDir", yaml: "dataDir: \"\"\n" + issuers, want: []string{"dataDir: "}},
		{name: "unknown store driver", yaml: "store:\n  driver: mysql\n" + issuers, want: []string{"store.driver: ", `"mysql"`}},
		{name: "postgres without dsn", yaml: "store:\n  driver: postgres\n" + issuers, want: []string{"store.dsn: ", "required"}},
		{name: "postgres dsn URL with password", yaml: "store:\n  driver: postgres\n  dsn: postgres://h:s3cret@db:5432/h\n" + issuers, want: []string{"store.dsn: ", "passwordFile"}},
		{name: "postgres key=value dsn with password", yaml: "store:\n  driver: postgres\n  dsn: host=db password=s3cret\n" + issuers, want: []string{"store.dsn: ", "passwordFile"}},
		{name: "postgres with a sqlite path", yaml: "store:\n  driver: postgres\n  dsn: host=db\n  path: /s.db\n" + issuers, want: []string{"store.path: "}},
		{name: "sqlite with a dsn", yaml: "store:\n  dsn: host=db\n" + issuers, want: []string{"store: ", "driver postgres"}},
		{name: "short decision retention", yaml: "store:\n  decisionRetention: 10m\n" + issuers, want: []string{"store.decisionRetention: "}},
		{name: "registry events without a token", yaml: "registryEvents:\n  registry: r.example.com\n" + issuers, want: []string{"registryEvents.tokenFile: ", "required"}},
		{name: "registry events token without a registry", yaml: "registryEvents:\n  tokenFile: /t\n" + issuers, want: []string{"registryEvents.registry: ", "required"}},
		{name: "registry events from a URL", yaml: "registryEvents:\n  registry: https://r.example.com\n  tokenFile: /t\n" + issuers, want: []string{"registryEvents.registry: ", `"https://r.example.com"`}},
		{name: "registry events from a repository", yaml: "registryEvents:\n  registry: r.example.com/team\n  tokenFile: /t\n" + issuers, want: []string{"registryEvents.registry: "}},
		{name: "registry events from a bare name", yaml: "registryEvents:\n  registry: registry\n  tokenFile: /t\n" + issuers, want: []string{"registryEvents.registry: ", "a dot or a port"}},
		{name: "registry events typo", yaml: "registryEvents:\n  tokenfil: /t\n" + issuers, want: []string{"registryEvents.tokenfil: unknown field"}},
		{name: "tiny context limit", yaml: "limits:\n  maxContextBytes: 100\n" + issuers, want: []string{"limits.maxContextBytes: "}},
		{name: "tiny message limit", yaml: "limits:\n  maxMessageBytes: 1000\n" + issuers, want: []string{"limits.maxMessageBytes: "}},
		{name: "short build timeout", yaml: "limits:\n  buildTimeout: 30s\n" + issuers, want: []string{"limits.buildTimeout: ", "30s is below 1m"}},
		{name: "context quota below one upload", yaml: "limits:\n  contextQuotaBytes: 1048576\n" + issuers, want: []string{"limits.contextQuotaBytes: ", "below limits.maxContextBytes"}},
		{name: "shared contexts in a bare name", yaml: "contexts:\n  sharedRepository: contexts\n" + issuers, want: []string{"contexts.sharedRepository: ", `"contexts" is not registry/repository`}},
		{name: "shared contexts under a tag", yaml: "contexts:\n  sharedRepository: r.example.com/hallmark/contexts:v1\n" + issuers, want: []string{"contexts.sharedRepository: "}},
		{name: "context ttl below the build timeout", yaml: "limits:\n  contextTTL: 30m\n" + issuers, want: []string{"limits.contextTTL: ", "30m0s is below limits.buildTimeout (1h0m0s)"}},
		{name: "bad duration", yaml: "limits:\n  buildTimeout: 5x\n" + issuers, want: []string{"limits.buildTimeout", `"5x"`, "90s or 1h"}},
		{name: "duration without unit", yaml: "limits:\n  buildTimeout: 3600\n" + issuers, want: []string{"limits.buildTimeout", `"3600"`}},
		{name: "bad log level", yaml: "log:\n  level: verbose\n" + issuers, want: []string{"log.level: ", `"verbose"`}},
		{name: "bad log format", yaml: "log:\n  format: xml\n" + issuers, want: []string{"log.format: "}},
		{name: "not YAML", yaml: "listen: [\n", want: []string{"parse config"}},
		{name: "every mistake is reported", yaml: "listen: x\nlog:\n  level: loud\n" + issuers, want: []string{"listen: ", "log.level: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, tt.yaml)
			_, err := Load(p)
			if err == nil {
				t.Fatal("loadConfig succeeded")
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
		if err == nil || !strings.Contains(err.Error(), "read config") {
			t.Errorf("loadConfig error = %v, want a read error", err)
		}
	})
}

func TestDurationUnmarshalJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: `"90s"`, want: 90 * time.Second},
		{in: `"1h"`, want: time.Hour},
		{in: `"1h30m"`, want: 90 * time.Minute},
		{in: `"250ms"`, want: 250 * time.Millisecond},
		{in: `"0s"`, want: 0},
		{in: `""`, wantErr: true},
		{in: `"5x"`, wantErr: true},
		{in: `"1 h"`, wantErr: true},
		{in: `3600`, wantErr: true},
		{in: `true`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d Duration
			err := d.UnmarshalJSON([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Errorf("UnmarshalJSON(%s) = %v, want an error", tt.in, time.Duration(d))
				}
				return
			}
			if err != nil || time.Duration(d) != tt.want {
				t.Errorf("UnmarshalJSON(%s) = %v, %v; want %v", tt.in, time.Duration(d), err, tt.want)
			}
		})
	}
}

func TestUnknownField(t *testing.T) {
	tests := []struct {
		yaml string
		want string
	}{
		{yaml: "listen: x\n", want: ""},
		{yaml: "Listen: x\n", want: ""}, // encoding/json matches names without case
		{yaml: "auth:\n  rules:\n  - issuer: x\n    claims:\n      anything: y\n", want: ""},
		{yaml: "auth:\n  rules:\n  - issuer: x\n    repos: [y]\n", want: "auth.rules[0].repos"},
		{yaml: "limits:\n  buildTimeout: 1h\n  zz: 1\n  aa: 2\n", want: "limits.aa"},
		{yaml: "not: [valid\n", want: ""},
	}
	for _, tt := range tests {
		if got := unknownField([]byte(tt.yaml)); got != tt.want {
			t.Errorf("unknownField(%q) = %q, want %q", tt.yaml, got, tt.want)
		}
	}
}

// TestSigningNeverInheritsDevDefaults: a config file that configures its own
// Sigstore gets no identity pin or trust files from the dev defaults.
func TestSigningNeverInheritsDevDefaults(t *testing.T) {
	c, err := Load(writeConfig(t, "signing:\n  trustedRoot: /tr.json\n  signingConfig: /sc.json\n  tokenFile: /tok\n  builderID: https://b.example/x\n"+issuers[len("\nsigning: {disabledUnsafe: true}"):]))
	if err != nil {
		t.Fatal(err)
	}
	if c.Signing.Identity != (IdentityConfig{}) {
		t.Fatalf("identity = %+v, want none (the dev pin must not leak into a file config)", c.Signing.Identity)
	}
	if _, err := Load(writeConfig(t, "listen: 127.0.0.1:1\n"+issuers[len("\nsigning: {disabledUnsafe: true}"):])); err == nil || !strings.Contains(err.Error(), "signing.trustedRoot") {
		t.Fatalf("a file without signing = %v, want an error naming signing.trustedRoot", err)
	}
}

// TestExampleLoads keeps examples/hallmarkd.yaml, which the README points
// to, valid and complete: it sets every section.
func TestExampleLoads(t *testing.T) {
	c, err := Load("../../examples/hallmarkd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:7433" || len(c.Auth.Rules) == 0 || len(c.Verify.Policies) == 0 || c.Admission.Listen == "" ||
		c.Debian.CacheDir == "" || c.Signing.Identity.Issuer == "" || len(c.Policy.BaseImages.Allow) == 0 ||
		len(c.Policy.Frontends) == 0 || c.Auth.Rules[0].CacheScope == "" || c.Auth.Rules[0].Network == "" || c.RegistryEvents.TokenFile == "" ||
		!c.UI.Enabled || c.UI.Login.RedirectURL == "" || c.UI.Login.SessionKeyFile == "" {
		t.Errorf("example config lost a section: %+v", c)
	}
	// It shows pull patterns and a read-only rule.
	if r := c.Auth.Rules; len(r) < 2 || len(r[0].Pull) == 0 || len(r[1].Repositories) != 0 || len(r[1].Pull) == 0 {
		t.Errorf("example rules = %+v, want pull patterns and a read-only rule", r)
	}
}

// TestMarshalRoundTrip: what the dev stack writes with Marshal loads back
// to the same Config.
func TestMarshalRoundTrip(t *testing.T) {
	ttl, size := Duration(5*time.Minute), 7
	c := Default()
	c.Listen = "127.0.0.1:1"
	c.Auth.Rules = append(c.Auth.Rules, Rule{Issuer: DevIssuer, Subject: "ci-*", Claims: map[string]string{"ref": "refs/heads/*"},
		Repositories: []string{"r.example/a/**"}, AllowRootUnsafe: true, CacheScope: "acme", Network: NetworkNone})
	c.Verify.Policies, c.Verify.AllowTTL, c.Verify.CacheSize = []string{"/p.yaml"}, &ttl, &size
	c.Verify.Limits.MaxBundles = 8
	c.Admission.Listen = "127.0.0.1:2"
	c.Admission.TLS = AdmissionTLSConfig{CertFile: "c", KeyFile: "k"}
	c.Policy.SecretScan.AllowPaths = []string{"/etc/**"}
	c.Policy.Frontends = []string{"docker.io/docker/dockerfile:1.7@sha256:" + fakeDigest}
	c.RegistryEvents = RegistryEventsConfig{Registry: "127.0.0.1:5000", TokenFile: "/t"}
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(Marshal()): %v\n%s", err, data)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip changed the config:\n got %+v\nwant %+v\n%s", got, c, data)
	}
}

// TestValidateOrder: problems come in the order of the fields, every time.
func TestValidateOrder(t *testing.T) {
	c := Default()
	c.Listen = "x"
	c.Signing = SigningConfig{BuilderID: "https://b.example"}
	c.Log.Format = "xml"
	want := []string{"listen:", "signing.trustedRoot:", "signing.signingConfig:", "signing.tokenFile:", "log.format:"}
	for range 20 {
		err := c.Validate()
		if err == nil {
			t.Fatal("Validate succeeded")
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) != len(want) {
			t.Fatalf("errors %q, want %d", lines, len(want))
		}
		for i, w := range want {
			if !strings.HasPrefix(lines[i], w) {
				t.Fatalf("error %d = %q, want it to start with %q (all: %q)", i, lines[i], w, lines)
			}
		}
	}
}

// TestRulesCheckedAtLoad: a bad authorization rule fails at load, naming
// its field, like every other setting.
func TestRulesCheckedAtLoad(t *testing.T) {
	for _, tt := range []struct{ rule, want string }{
		{"{issuer: i, repositories: [\"r/a**\"]}", "auth.rules[0].repositories[0]: bad pattern"},
		{"{issuer: i, repositories: [\"**/x\"]}", "auth.rules[0].repositories[0]: bad pattern \"**/x\": the first segment must name the registry"},
		{"{repositories: [r/x]}", "auth.rules[0].issuer: empty"},
		{"{issuer: i}", "auth.rules[0].repositories: empty"},
		{"{issuer: i, subject: \"[\", repositories: [r/x]}", "auth.rules[0].subject: bad pattern"},
		{"{issuer: i, repositories: [r/x], cacheScope: \"a/b\"}", `auth.rules[0].cacheScope: "a/b" is not 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit`},
		{"{issuer: i, repositories: [r/x], cacheScope: \".hidden\"}", `auth.rules[0].cacheScope: ".hidden" is not`},
		{"{issuer: i, repositories: [r/x], cacheScope: \"a b\"}", `auth.rules[0].cacheScope: "a b" is not`},
		{"{issuer: i, repositories: [r/x], cacheScope: " + strings.Repeat("a", 65) + "}", `auth.rules[0].cacheScope: "` + strings.Repeat("a", 65) + `" is not`},
		{"{issuer: i, repositories: [r/x], network: host}", `auth.rules[0].network: "host" is not default or none`},
		{"{issuer: i, repositories: [r/x], network: sandbox}", `auth.rules[0].network: "sandbox" is not default or none`},
		{"{issuer: i, repositories: [r/x], pull: [\"r/a**\"]}", "auth.rules[0].pull[0]: bad pattern"},
		{"{issuer: i, repositories: [r/x], pull: [r/y, \"**/base\"]}", "auth.rules[0].pull[1]: bad pattern \"**/base\": the first segment must name the registry"},
		{"{issuer: i, pull: [\"/base/*\"]}", "auth.rules[0].pull[0]: bad pattern \"/base/*\": the first segment must name the registry"},
		{"{issuer: i, pull: [\"\"]}", "auth.rules[0].pull[0]: empty pattern"},
		{"{issuer: i, pull: []}", "auth.rules[0].repositories: empty"},
		{"{issuer: i, pull: [r/x], allowRootUnsafe: true}", "auth.rules[0].allowRootUnsafe: set on a read-only rule"},
		{"{issuer: i, pull: [r/x], network: none}", "auth.rules[0].network: set on a read-only rule"},
		{"{issuer: i, pull: [r/x], cacheScope: shared}", "auth.rules[0].cacheScope: set on a read-only rule"},
	} {
		_, err := Load(writeConfig(t, issuers+"  rules:\n  - "+tt.rule+"\n"))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("rule %s: error %v, want %q", tt.rule, err, tt.want)
		}
	}
}

// TestRuleBuildSettings: a rule's cacheScope and network load as written;
// both are optional.
func TestRuleBuildSettings(t *testing.T) {
	c, err := Load(writeConfig(t, issuers+`  rules:
  - {issuer: i, repositories: [r/a], cacheScope: acme-shared.v2_x, network: none}
  - {issuer: i, repositories: [r/b], cacheScope: "`+strings.Repeat("a", 64)+`", network: default}
  - {issuer: i, repositories: [r/c]}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := c.Auth.Rules
	if len(got) != 3 || got[0].CacheScope != "acme-shared.v2_x" || got[0].Network != NetworkNone ||
		got[1].CacheScope != strings.Repeat("a", 64) || got[1].Network != NetworkDefault || got[2].CacheScope != "" || got[2].Network != "" {
		t.Errorf("rules = %+v", got)
	}
}

// TestRuleCheck: the rules that load, read-only ones included.
func TestRuleCheck(t *testing.T) {
	for _, tt := range []struct {
		name string
		rule Rule
	}{
		{"push", Rule{Issuer: "i", Repositories: []string{"r.example/acme/**"}}},
		{"push and pull", Rule{Issuer: "i", Repositories: []string{"r.example/acme/*"}, Pull: []string{"r.example/base/**", "docker.io/library/*"}}},
		{"read-only", Rule{Issuer: "i", Subject: "release-*", Pull: []string{"r.example/**"}}},
		{"any registry's port", Rule{Issuer: "i", Pull: []string{"127.0.0.1:*/hallmark/*"}}},
		{"admin only", Rule{Issuer: "i", Subject: "ops-*", Admin: true}},
		{"admin by claim, and push", Rule{Issuer: "i", Claims: map[string]string{"team": "security"}, Admin: true, Repositories: []string{"r.example/acme/*"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.rule.Check(); err != nil {
				t.Errorf("Check() = %v, want nil", err)
			}
		})
	}
}

func TestRuleCheckAdmin(t *testing.T) {
	for _, tt := range []struct {
		name string
		rule Rule
		want string
	}{
		{"any subject", Rule{Issuer: "i", Admin: true, Repositories: []string{"r.example/acme/*"}}, "admin: set on a rule without a subject or claims"},
		{"nothing granted", Rule{Issuer: "i", Subject: "ops"}, "repositories: empty"},
		{"build settings", Rule{Issuer: "i", Subject: "ops", Admin: true, Network: NetworkNone}, "network: set on a read-only rule"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.rule.Check(); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Check() = %v, want %q…", err, tt.want)
			}
		})
	}
}

// TestPlainHTTPOnlyOnLoopback: h2c (no TLS) is refused on an address other
// machines can reach, unless allowInsecure says so.
func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	for _, tt := range []struct {
		name, yaml string
		ok         bool
	}{
		{"loopback", "listen: 127.0.0.1:7433\n", true},
		{"localhost", "listen: localhost:7433\n", true},
		{"ipv6 loopback", "listen: \"[::1]:7433\"\n", true},
		{"every interface", "listen: 0.0.0.0:7433\n", false},
		{"empty host", "listen: \":7433\"\n", false},
		{"public address", "listen: 10.0.0.5:7433\n", false},
		{"every interface, allowed", "listen: 0.0.0.0:7433\nallowInsecure: true\n", true},
		{"every interface, TLS", "listen: 0.0.0.0:7433\ntls: {certFile: c, keyFile: k}\n", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tt.yaml+issuers))
			if tt.ok && err != nil {
				t.Errorf("Load: %v", err)
			}
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), "is not a loopback address and tls is not set")) {
				t.Errorf("Load = %v, want the loopback error", err)
			}
		})
	}
}

func TestMaxQueued(t *testing.T) {
	if c := Default(); c.BuildKit.MaxQueued != 64 {
		t.Errorf("default buildkit.maxQueued = %d, want 64", c.BuildKit.MaxQueued)
	}
	for _, n := range []string{"0", "10001"} {
		if _, err := Load(writeConfig(t, issuers+"buildkit: {maxQueued: "+n+"}\n")); err == nil || !strings.Contains(err.Error(), "buildkit.maxQueued") {
			t.Errorf("maxQueued %s: %v", n, err)
		}
	}
}

func TestReuseCertificate(t *testing.T) {
	base := "signing:\n  trustedRoot: /tr.json\n  signingConfig: /sc.json\n  tokenFile: /tok\n  builderID: https://b.example/x\n"
	rest := issuers[len("\nsigning: {disabledUnsafe: true}"):]
	for _, tt := range []struct {
		value, wantErr string
		want           time.Duration
	}{
		{"", "", 0},
		{"  reuseCertificate: 5m\n", "", 5 * time.Minute},
		{"  reuseCertificate: 11m\n", "signing.reuseCertificate: 11m0s is not between 0 and 10m", 0},
		{"  reuseCertificate: -1s\n", "signing.reuseCertificate: -1s is not between 0 and 10m", 0},
	} {
		c, err := Load(writeConfig(t, base+tt.value+rest))
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%q: %v, want %q", tt.value, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || time.Duration(c.Signing.ReuseCertificate) != tt.want):
			t.Errorf("%q: %v, %v; want %v", tt.value, err, c, tt.want)
		}
	}
}

func TestSharedContexts(t *testing.T) {
	cfg, err := Load(writeConfig(t, "contexts:\n  sharedRepository: registry.example.com/hallmark/contexts\n"+issuers))
	if err != nil || cfg.Contexts.SharedRepository != "registry.example.com/hallmark/contexts" {
		t.Fatalf("load: %+v, %v", cfg.Contexts, err)
	}
}

// TestBuildKitWorkers: buildkit.address is the short form of a list of
// one, a file's workers replace the dev stack's default worker, and a
// marshalled pool loads back the same.
func TestBuildKitWorkers(t *testing.T) {
	dev := Default().BuildKit.Address
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{name: "default", yaml: "", want: []string{dev}},
		{name: "address", yaml: "buildkit: {address: \"unix:///run/buildkit/buildkitd.sock\"}\n", want: []string{"unix:///run/buildkit/buildkitd.sock"}},
		{name: "one worker", yaml: "buildkit: {workers: [\"tcp://a:1234\"]}\n", want: []string{"tcp://a:1234"}},
		{name: "discover", yaml: "buildkit: {discover: \"dns+tcp://buildkitd.ns.svc:1234\"}\n", want: nil},
		{name: "discover and workers", yaml: "buildkit: {discover: \"dns+tcp://buildkitd.ns.svc:1234\", workers: [\"tcp://a:1234\"]}\n", want: []string{"tcp://a:1234"}},
		{name: "workers", yaml: "buildkit:\n  workers:\n  - tcp://buildkitd-0.buildkitd.ns.svc:1234\n  - tcp://buildkitd-1.buildkitd.ns.svc:1234\n  - unix:///run/b.sock\n",
			want: []string{"tcp://buildkitd-0.buildkitd.ns.svc:1234", "tcp://buildkitd-1.buildkitd.ns.svc:1234", "unix:///run/b.sock"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, tt.yaml+issuers))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := c.BuildKit.WorkerAddresses(); !slices.Equal(got, tt.want) {
				t.Errorf("WorkerAddresses() = %q, want %q", got, tt.want)
			}
			data, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse(Marshal()): %v\n%s", err, data)
			}
			if !reflect.DeepEqual(again.BuildKit, c.BuildKit) {
				t.Errorf("after a round trip buildkit = %+v, want %+v", again.BuildKit, c.BuildKit)
			}
		})
	}
}

func TestDiscoverHostPort(t *testing.T) {
	tests := []struct {
		in, host, port string
		ok             bool
	}{
		{"dns+tcp://buildkitd.hallmark-buildkit.svc.cluster.local:1234", "buildkitd.hallmark-buildkit.svc.cluster.local", "1234", true},
		{"dns+tcp://[fd00::1]:1234", "fd00::1", "1234", true},
		{"dns+tcp://buildkitd:1234/x", "", "", false},
		{"dns+tcp://user@buildkitd:1234", "", "", false},
		{"dns://buildkitd:1234", "", "", false},
		{"dns+tcp://:1234", "", "", false},
		{"dns+srv://_grpc._tcp.buildkitd.hallmark-buildkit.svc.cluster.local", "_grpc._tcp.buildkitd.hallmark-buildkit.svc.cluster.local", "", true},
		{"dns+srv://_grpc._tcp.buildkitd:1234", "", "", false},
		{"dns+srv:///x", "", "", false},
	}
	for _, tt := range tests {
		host, port, err := BuildKitConfig{Discover: tt.in}.DiscoverHostPort()
		if (err == nil) != tt.ok || host != tt.host || port != tt.port {
			t.Errorf("DiscoverHostPort(%q) = %q, %q, %v; want %q, %q, ok %v", tt.in, host, port, err, tt.host, tt.port, tt.ok)
		}
	}
}
