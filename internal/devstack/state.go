package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/internal/config"
)

// Default addresses of the dev stack started by `hallmark dev up`. hallmarkd's
// built-in defaults point at the same addresses.
const (
	DefaultGatewayAddr  = config.DevListen
	DefaultRegistryAddr = config.DevRegistry
	DefaultIssuerAddr   = config.DevIssuerAddr
	// Audience is the audience of CI tokens the dev gateway accepts.
	Audience = config.DevAudience
)

// State describes a running dev stack. `hallmark dev up` writes it to
// StatePath so that other commands (`hallmark build`, `dev token`, `dev down`)
// find the stack without flags.
type State struct {
	// PID is the process that supervises the stack.
	PID int `json:"pid"`
	// Gateway is hallmarkd's base URL, "http://127.0.0.1:7433".
	Gateway string `json:"gateway"`
	// UI is the gateway's web view, "http://127.0.0.1:7433/ui/"; sign in
	// there through the dev issuer as any subject.
	UI string `json:"ui,omitempty"`
	// Registry is the registry's "host:port".
	Registry string `json:"registry"`
	// Issuer is the dev OIDC issuer's URL.
	Issuer string `json:"issuer"`
	// BuildKit is the first buildkitd's address.
	BuildKit string `json:"buildkit"`
	// Workers are the addresses of every buildkitd of the stack, BuildKit
	// first (dev up --workers).
	Workers []string `json:"workers,omitempty"`
	// BaseImage is the minimal base image, pinned by digest.
	BaseImage string `json:"baseImage"`
	// DebianBaseImage is the base for dynamically linked programs (glibc,
	// libstdc++, OpenSSL, zlib), pinned by digest.
	DebianBaseImage string `json:"debianBaseImage"`
	// GolangImage is the Go builder image, pinned by digest.
	GolangImage string `json:"golangImage"`
	// Dir is the stack's data directory.
	Dir string `json:"dir"`
	// Fulcio, Rekor and TSA are the base URLs of the Sigstore services.
	Fulcio string `json:"fulcio"`
	Rekor  string `json:"rekor"`
	TSA    string `json:"tsa"`
	// TrustedRoot and SigningConfig are the sigstore-go files describing
	// exactly this stack's Sigstore instances.
	TrustedRoot   string `json:"trustedRoot"`
	SigningConfig string `json:"signingConfig"`
	// SigningToken is the file holding the gateway's signing token.
	SigningToken string `json:"signingToken"`
	// Policy is the verification policy file the gateway serves as its
	// default ("gateway-built").
	Policy string `json:"policy"`
	// Admission is the base URL of the gateway's admission webhook
	// (HTTPS); TLSRoot the CA that signed its certificate, ServingCert and
	// ServingKey that certificate (also the API server's).
	Admission   string `json:"admission"`
	TLSRoot     string `json:"tlsRoot"`
	ServingCert string `json:"servingCert"`
	ServingKey  string `json:"servingKey"`
	// Kubeconfig and Kubectl are set when the stack runs Kubernetes: an
	// admin kubeconfig for its API server, and the kubectl built for it.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Kubectl    string `json:"kubectl,omitempty"`
	// Postgres is set when the stack runs PostgreSQL: the DSN of its
	// database, which holds the generated password of its superuser (the
	// state file is 0600).
	Postgres string `json:"postgres,omitempty"`
}

// WorkerCount is how many buildkitd workers the stack runs (a state
// written before Workers existed names one, BuildKit).
func (s State) WorkerCount() int {
	if len(s.Workers) == 0 && s.BuildKit != "" {
		return 1
	}
	return len(s.Workers)
}

// Env returns the stack as KEY=VALUE pairs for `export`.
func (s State) Env() [][2]string {
	env := [][2]string{
		{"HALLMARK_GATEWAY", s.Gateway},
		{"HALLMARK_REGISTRY", s.Registry},
		{"HALLMARK_BASE_IMAGE", s.BaseImage},
		{"HALLMARK_DEBIAN_BASE_IMAGE", s.DebianBaseImage},
		{"HALLMARK_GOLANG_IMAGE", s.GolangImage},
		{"HALLMARK_OIDC_ISSUER", s.Issuer},
		{"HALLMARK_BUILDKIT", s.BuildKit},
		{"HALLMARK_TRUSTED_ROOT", s.TrustedRoot},
		{"HALLMARK_SIGNING_CONFIG", s.SigningConfig},
		{"HALLMARK_SIGNER_IDENTITY", BuilderID},
		{"HALLMARK_SIGNER_ISSUER", s.Issuer},
		{"HALLMARK_POLICY", s.Policy},
	}
	if s.Kubeconfig != "" {
		env = append(env, [2]string{"HALLMARK_KUBECONFIG", s.Kubeconfig}, [2]string{"HALLMARK_KUBECTL", s.Kubectl})
	}
	if s.Postgres != "" {
		env = append(env, [2]string{"HALLMARK_POSTGRES_DSN", s.Postgres})
	}
	if s.UI != "" {
		env = append(env, [2]string{"HALLMARK_UI", s.UI})
	}
	return env
}

// DefaultDir is where the dev stack keeps its data and state:
// $HALLMARK_DEV_DIR, else ${XDG_CACHE_HOME:-~/.cache}/hallmark/dev.
func DefaultDir() (string, error) {
	if d := os.Getenv("HALLMARK_DEV_DIR"); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache dir: %w", err)
	}
	return filepath.Join(c, "hallmark", "dev"), nil
}

// StatePath is the state file inside dir.
func StatePath(dir string) string { return filepath.Join(dir, "state.json") }

// ErrNotRunning means no dev stack is running.
var ErrNotRunning = errors.New("no dev stack is running (start one with `hallmark dev up`)")

// LoadState reads the state of the dev stack in dir and checks that its
// supervisor is alive. A missing or stale state gives ErrNotRunning.
func LoadState(dir string) (State, error) {
	var s State
	data, err := os.ReadFile(StatePath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return s, ErrNotRunning
	}
	if err != nil {
		return s, fmt.Errorf("read dev stack state: %w", err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("parse dev stack state %s: %w", StatePath(dir), err)
	}
	if !alive(s.PID) {
		return s, ErrNotRunning
	}
	return s, nil
}

func writeState(dir string, s State) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := StatePath(dir) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write dev stack state: %w", err)
	}
	return os.Rename(tmp, StatePath(dir))
}

// FetchToken asks the dev OIDC issuer at issuerURL for a CI token for
// subject, with extra string claims.
func FetchToken(ctx context.Context, issuerURL, subject string, claims map[string]string) (string, error) {
	return FetchTokenFor(ctx, issuerURL, Audience, subject, claims)
}

// FetchTokenFor is FetchToken for another audience, such as
// SigningAudience: a token Fulcio accepts, whose builder_id claim becomes
// the certificate's SAN.
func FetchTokenFor(ctx context.Context, issuerURL, audience, subject string, claims map[string]string) (string, error) {
	form := url.Values{"subject": {subject}, "audience": {audience}}
	for k, v := range claims {
		form.Set("claim."+k, v)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(issuerURL, "/")+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("request dev token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("request dev token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("read dev token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("request dev token: issuer answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Token == "" {
		return "", fmt.Errorf("read dev token: malformed answer")
	}
	return out.Token, nil
}
