package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/config"
)

const (
	// maxIssuerResponseBytes bounds a discovery document or a JWKS.
	maxIssuerResponseBytes = 1 << 20
	// maxQuotedClaimBytes bounds an unverified claim quoted in an error.
	maxQuotedClaimBytes = 200
)

// acceptedAlgorithms are the asymmetric JWS algorithms an issuer may sign
// tokens with; an issuer's discovery document narrows them further.
var acceptedAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.EdDSA,
}

// Authenticator verifies OIDC ID tokens of trusted issuers. It discovers each
// issuer (discovery document, then JWKS) in the background and again on
// demand, so the gateway may start before its issuers; while an issuer
// cannot be reached, its tokens fail with an error wrapping
// hallmark.ErrUnavailable.
type Authenticator struct {
	issuers map[string]*trustedIssuer
	opts    authOptions
	tokens  *tokenCache
}

type authOptions struct {
	client        *http.Client
	timeout       time.Duration
	maxTokenBytes int
	refresh       time.Duration
	public        map[string]bool
	log           *slog.Logger
	tokenTTL      time.Duration
	now           func() time.Time
}

// AuthOption configures an Authenticator.
type AuthOption func(*authOptions) error

// WithPublicProcedures exempts Connect procedures, such as
// "/hallmark.v1.BuildService/Ping", from authentication by the interceptor.
// The default is none: every procedure needs a token.
func WithPublicProcedures(procs ...string) AuthOption {
	return func(o *authOptions) error {
		for _, p := range procs {
			if !strings.HasPrefix(p, "/") {
				return fmt.Errorf("public procedure %q: want /package.Service/Method", p)
			}
			o.public[p] = true
		}
		return nil
	}
}

// WithIssuerTimeout bounds each request to an issuer (discovery document or
// JWKS). The default is 10 s.
func WithIssuerTimeout(d time.Duration) AuthOption {
	return func(o *authOptions) error {
		if d <= 0 {
			return errors.New("issuer timeout must be positive")
		}
		o.timeout = d
		return nil
	}
}

// WithIssuerHTTPClient sets the client for requests to issuers, for example
// to trust a private CA. Every request is still bounded by the issuer
// timeout. The default is a client with http.DefaultTransport.
func WithIssuerHTTPClient(c *http.Client) AuthOption {
	return func(o *authOptions) error {
		if c == nil {
			return errors.New("issuer HTTP client is nil")
		}
		o.client = c
		return nil
	}
}

// WithMaxTokenBytes bounds the size of a token. The default is 16 KiB.
func WithMaxTokenBytes(n int) AuthOption {
	return func(o *authOptions) error {
		if n < 1<<10 {
			return errors.New("max token bytes must be at least 1 KiB")
		}
		o.maxTokenBytes = n
		return nil
	}
}

// WithKeyRefreshInterval sets the shortest time between two fetches of an
// issuer's JWKS caused by tokens signed with a key the gateway has not seen;
// it keeps forged key ids from turning into a flood of requests to the
// issuer. It is also the shortest time a fetched key set is used, whatever
// the issuer's cache headers say; the longest is an hour. A failed fetch is
// retried with the next token. The default is 10 s.
func WithKeyRefreshInterval(d time.Duration) AuthOption {
	return func(o *authOptions) error {
		if d < 0 {
			return errors.New("key refresh interval must not be negative")
		}
		o.refresh = d
		return nil
	}
}

// WithAuthLogger sets the logger for issuer discovery and rejected requests;
// nil is an error (hallmark.ErrInvalid). Tokens are never logged. The
// default discards logs.
func WithAuthLogger(l *slog.Logger) AuthOption {
	return func(o *authOptions) error {
		return hallmark.SetLogger(&o.log, l)
	}
}

// NewAuthenticator returns an Authenticator that trusts issuers. It starts
// discovering every issuer in the background and does not wait for it; ctx
// supplies values (not cancellation) to that first attempt, which is bounded
// by the issuer timeout like every later one.
func NewAuthenticator(ctx context.Context, issuers []config.Issuer, opts ...AuthOption) (*Authenticator, error) {
	o := authOptions{
		timeout:       10 * time.Second,
		maxTokenBytes: 16 << 10,
		refresh:       10 * time.Second,
		public:        map[string]bool{},
		log:           slog.New(slog.DiscardHandler),
		tokenTTL:      DefaultTokenCacheTTL,
		now:           time.Now,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.client == nil {
		o.client = &http.Client{Transport: http.DefaultTransport, Timeout: o.timeout}
	}
	if len(issuers) == 0 {
		return nil, errors.New("no issuers: configure at least one trusted OIDC issuer")
	}

	a := &Authenticator{issuers: make(map[string]*trustedIssuer, len(issuers)), opts: o, tokens: newTokenCache(o.tokenTTL, o.now)}
	for i, c := range issuers {
		if err := c.Check(); err != nil {
			return nil, fmt.Errorf("issuers[%d].%w", i, err)
		}
		if _, dup := a.issuers[c.URL]; dup {
			return nil, fmt.Errorf("issuers[%d].url: issuer %q is listed twice", i, c.URL)
		}
		if u, _ := url.Parse(c.URL); u.Scheme == "http" && !config.IsLoopback(u.Hostname()) {
			o.log.WarnContext(ctx, "OIDC issuer uses plain http outside loopback", "issuer", c.URL)
		}
		a.issuers[c.URL] = &trustedIssuer{cfg: c, opts: &a.opts}
	}
	for _, ti := range a.issuers {
		ti.mu.Lock()
		ti.startDiscoveryLocked(ctx)
		ti.mu.Unlock()
	}
	return a, nil
}

// Authenticate verifies rawToken, an OIDC ID token, and returns the identity
// it proves. The token's "iss" claim selects the trusted issuer whose keys,
// audience and clock rules then verify it. Errors wrap
// hallmark.ErrUnauthenticated, or hallmark.ErrUnavailable when the issuer
// could not be reached; they never contain the token.
func (a *Authenticator) Authenticate(ctx context.Context, rawToken string) (hallmark.Identity, error) {
	if rawToken == "" {
		return hallmark.Identity{}, fmt.Errorf("%w: no token", hallmark.ErrUnauthenticated)
	}
	if len(rawToken) > a.opts.maxTokenBytes {
		return hallmark.Identity{}, fmt.Errorf("%w: token is larger than %d bytes", hallmark.ErrUnauthenticated, a.opts.maxTokenBytes)
	}
	if id, ok := a.tokens.get(rawToken); ok {
		return id, nil
	}
	peek, err := peekClaims(rawToken)
	if err != nil {
		return hallmark.Identity{}, fmt.Errorf("%w: %w", hallmark.ErrUnauthenticated, err)
	}
	ti, ok := a.issuers[peek.Issuer]
	if !ok {
		return hallmark.Identity{}, fmt.Errorf("%w: issuer %q is not trusted", hallmark.ErrUnauthenticated, hallmark.Clip(peek.Issuer, maxQuotedClaimBytes))
	}
	verifier, err := ti.verifier(ctx)
	if err != nil {
		return hallmark.Identity{}, err
	}

	report := &verifyReport{}
	tok, err := verifier.Verify(context.WithValue(ctx, verifyReportKey{}, report), rawToken)
	if err != nil {
		return hallmark.Identity{}, ti.explain(err, report, peek)
	}
	if tok.Subject == "" {
		return hallmark.Identity{}, fmt.Errorf("%w: token from issuer %q has no subject", hallmark.ErrUnauthenticated, ti.cfg.URL)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return hallmark.Identity{}, fmt.Errorf("%w: decode claims of token from issuer %q", hallmark.ErrUnauthenticated, ti.cfg.URL)
	}
	id := hallmark.Identity{Issuer: tok.Issuer, Subject: tok.Subject, Claims: claims}
	a.tokens.put(rawToken, id, tok.Expiry)
	return id, nil
}

// peekedClaims are claims read before verification: they pick the issuer and
// explain rejections, and are never trusted.
type peekedClaims struct {
	Issuer   string          `json:"iss"`
	Audience json.RawMessage `json:"aud"`
}

// peekClaims decodes the payload of a compact JWS without verifying it.
// Its errors say what is wrong without quoting the token.
func peekClaims(raw string) (peekedClaims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return peekedClaims{}, errors.New("malformed token: want a signed JWT of three dot-separated parts")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return peekedClaims{}, errors.New("malformed token: payload is not base64url")
	}
	var c peekedClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return peekedClaims{}, errors.New("malformed token: payload is not a JSON object of claims")
	}
	if c.Issuer == "" {
		return peekedClaims{}, errors.New("malformed token: no issuer (iss)")
	}
	return c, nil
}

// hasAudience reports whether an "aud" claim, a string or an array of
// strings, contains want.
func (c peekedClaims) hasAudience(want string) bool {
	var one string
	if json.Unmarshal(c.Audience, &one) == nil {
		return one == want
	}
	var many []string
	if json.Unmarshal(c.Audience, &many) == nil {
		return slices.Contains(many, want)
	}
	return false
}
