package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	hallmark "github.com/hallmark-dev/hallmark"
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

// IssuerConfig is one trusted OIDC issuer, as written in the gateway's
// configuration:
//
//	issuers:
//	- url: https://token.actions.githubusercontent.com
//	  audience: hallmark
type IssuerConfig struct {
	// URL is the issuer URL, exactly as it appears in the tokens' "iss" claim
	// and in the issuer's discovery document (a trailing slash matters). Plain
	// http is accepted for the dev stack's loopback issuer.
	URL string `json:"url"`
	// Audience is the value the tokens' "aud" claim must contain.
	Audience string `json:"audience"`
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
// issuer. A failed fetch is retried with the next token. The default is
// 10 s.
func WithKeyRefreshInterval(d time.Duration) AuthOption {
	return func(o *authOptions) error {
		if d < 0 {
			return errors.New("key refresh interval must not be negative")
		}
		o.refresh = d
		return nil
	}
}

// WithAuthLogger sets the logger for issuer discovery and rejected requests.
// Tokens are never logged. The default discards logs.
func WithAuthLogger(l *slog.Logger) AuthOption {
	return func(o *authOptions) error {
		if l == nil {
			return errors.New("logger is nil")
		}
		o.log = l
		return nil
	}
}

// NewAuthenticator returns an Authenticator that trusts issuers. It starts
// discovering every issuer in the background and does not wait for it; ctx
// supplies values (not cancellation) to that first attempt, which is bounded
// by the issuer timeout like every later one.
func NewAuthenticator(ctx context.Context, issuers []IssuerConfig, opts ...AuthOption) (*Authenticator, error) {
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
		if err := checkIssuerURL(c.URL); err != nil {
			return nil, fmt.Errorf("issuers[%d].url: %w", i, err)
		}
		if c.Audience == "" {
			return nil, fmt.Errorf("issuers[%d].audience: empty; set the audience the issuer's tokens are minted for", i)
		}
		if _, dup := a.issuers[c.URL]; dup {
			return nil, fmt.Errorf("issuers[%d].url: issuer %q is listed twice", i, c.URL)
		}
		if u, _ := url.Parse(c.URL); u.Scheme == "http" && !isLoopback(u.Hostname()) {
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

func checkIssuerURL(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("parse %q: %w", s, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("%q: scheme must be https (or http for a dev issuer)", s)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return fmt.Errorf("%q: want scheme://host[:port][/path] only", s)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
		return hallmark.Identity{}, fmt.Errorf("%w: issuer %q is not trusted", hallmark.ErrUnauthenticated, clipClaim(peek.Issuer))
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

// clipClaim shortens an unverified claim quoted in an error.
func clipClaim(s string) string {
	if len(s) > maxQuotedClaimBytes {
		return s[:maxQuotedClaimBytes] + "…"
	}
	return s
}

// trustedIssuer is one configured issuer and, once discovered, its verifier.
type trustedIssuer struct {
	cfg  IssuerConfig
	opts *authOptions

	mu       sync.Mutex
	verify   *oidc.IDTokenVerifier // nil until discovery succeeds
	inflight *discovery            // the running discovery, if any
	algs     []jose.SignatureAlgorithm
}

// discovery is one attempt to discover an issuer; done closes when err is set.
type discovery struct {
	done chan struct{}
	err  error
}

// verifier returns the issuer's verifier, discovering the issuer first if
// needed. Concurrent callers share one attempt; each waits at most until its
// ctx is done.
func (ti *trustedIssuer) verifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	ti.mu.Lock()
	if v := ti.verify; v != nil {
		ti.mu.Unlock()
		return v, nil
	}
	d := ti.startDiscoveryLocked(ctx)
	ti.mu.Unlock()

	select {
	case <-d.done:
		if d.err != nil {
			return nil, d.err
		}
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: discover issuer %q: %w", hallmark.ErrUnavailable, ti.cfg.URL, context.Cause(ctx))
	}
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return ti.verify, nil
}

// startDiscoveryLocked starts a discovery unless one is running, and returns
// it. The attempt runs detached from ctx's cancellation so that one caller
// going away does not fail the others, and is bounded by the issuer timeout.
func (ti *trustedIssuer) startDiscoveryLocked(ctx context.Context) *discovery {
	if ti.inflight != nil {
		return ti.inflight
	}
	d := &discovery{done: make(chan struct{})}
	ti.inflight = d
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ti.opts.timeout)
		defer cancel()
		v, algs, err := ti.discover(ctx)
		if err != nil {
			ti.opts.log.WarnContext(ctx, "discover OIDC issuer", "issuer", ti.cfg.URL, "error", err)
		} else {
			ti.opts.log.InfoContext(ctx, "discovered OIDC issuer", "issuer", ti.cfg.URL)
		}
		ti.mu.Lock()
		if err == nil {
			ti.verify, ti.algs = v, algs
		}
		ti.inflight = nil
		ti.mu.Unlock()
		d.err = err
		close(d.done)
	}()
	return d
}

// discover fetches the issuer's discovery document and returns a verifier
// that checks signatures against the issuer's JWKS, the audience and expiry.
func (ti *trustedIssuer) discover(ctx context.Context) (*oidc.IDTokenVerifier, []jose.SignatureAlgorithm, error) {
	unavailable := func(format string, args ...any) error {
		return fmt.Errorf("%w: discover issuer %q: %w", hallmark.ErrUnavailable, ti.cfg.URL, fmt.Errorf(format, args...))
	}
	var meta struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	wellKnown := strings.TrimSuffix(ti.cfg.URL, "/") + "/.well-known/openid-configuration"
	if err := getIssuerJSON(ctx, ti.opts.client, wellKnown, &meta); err != nil {
		return nil, nil, unavailable("%w", err)
	}
	if meta.Issuer != ti.cfg.URL {
		return nil, nil, unavailable("discovery document names issuer %q", clipClaim(meta.Issuer))
	}
	if u, err := url.Parse(meta.JWKSURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, nil, unavailable("jwks_uri %q is not an http(s) URL", clipClaim(meta.JWKSURI))
	}
	var algs []jose.SignatureAlgorithm
	for _, a := range meta.Algs {
		if alg := jose.SignatureAlgorithm(a); slices.Contains(acceptedAlgorithms, alg) && !slices.Contains(algs, alg) {
			algs = append(algs, alg)
		}
	}
	if len(meta.Algs) == 0 {
		algs = []jose.SignatureAlgorithm{jose.RS256} // the OIDC default
	}
	if len(algs) == 0 {
		return nil, nil, unavailable("issuer supports none of the accepted signing algorithms")
	}
	names := make([]string, len(algs))
	for i, a := range algs {
		names[i] = string(a)
	}
	keys := &remoteKeys{url: meta.JWKSURI, issuer: ti.cfg.URL, algs: algs, opts: ti.opts}
	v := oidc.NewVerifier(ti.cfg.URL, keys, &oidc.Config{ClientID: ti.cfg.Audience, SupportedSigningAlgs: names})
	return v, algs, nil
}

// explain turns a verification failure into an error for the caller. It uses
// what the key set observed, and claims only once the signature verified;
// it never quotes go-oidc's messages, which may quote the token.
func (ti *trustedIssuer) explain(err error, r *verifyReport, peek peekedClaims) error {
	switch {
	case r.unavailable != nil:
		return r.unavailable
	case !r.called:
		ti.mu.Lock()
		algs := ti.algs
		ti.mu.Unlock()
		return fmt.Errorf("%w: token from issuer %q is malformed or not signed with one of %v", hallmark.ErrUnauthenticated, ti.cfg.URL, algs)
	case !r.verified:
		return fmt.Errorf("%w: token signature does not verify with the keys of issuer %q", hallmark.ErrUnauthenticated, ti.cfg.URL)
	}
	if expired, ok := errors.AsType[*oidc.TokenExpiredError](err); ok {
		return fmt.Errorf("%w: token from issuer %q expired at %s", hallmark.ErrUnauthenticated, ti.cfg.URL, expired.Expiry.UTC().Format(time.RFC3339))
	}
	if !peek.hasAudience(ti.cfg.Audience) {
		return fmt.Errorf("%w: token audience does not include %q", hallmark.ErrUnauthenticated, ti.cfg.Audience)
	}
	return fmt.Errorf("%w: token from issuer %q is not valid (not yet valid, or malformed claims)", hallmark.ErrUnauthenticated, ti.cfg.URL)
}

// verifyReport records, for one Verify call, what the key set saw.
type verifyReport struct {
	called      bool  // the signature was checked
	verified    bool  // the signature verified
	unavailable error // the keys could not be fetched
}

type verifyReportKey struct{}

// remoteKeys is an issuer's JWKS, fetched on demand with bounded size and
// time, and cached. It implements oidc.KeySet.
type remoteKeys struct {
	url    string
	issuer string
	algs   []jose.SignatureAlgorithm
	opts   *authOptions

	mu       sync.Mutex
	keys     []jose.JSONWebKey
	fetched  time.Time // of the last successful fetch
	inflight *keyFetch
}

var _ oidc.KeySet = (*remoteKeys)(nil)

// keyFetch is one fetch of the JWKS; done closes when keys and err are set.
type keyFetch struct {
	done chan struct{}
	keys []jose.JSONWebKey
	err  error
}

// VerifySignature verifies the token's signature with the cached keys, or
// with freshly fetched ones when no cached key verifies it.
func (r *remoteKeys) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	report, _ := ctx.Value(verifyReportKey{}).(*verifyReport)
	if report == nil {
		report = &verifyReport{}
	}
	report.called = true
	jws, err := jose.ParseSignedCompact(raw, r.algs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errors.New("parse signed token")
	}
	kid := jws.Signatures[0].Header.KeyID

	r.mu.Lock()
	cached := r.keys
	r.mu.Unlock()
	if payload, ok := verifyWithKeys(jws, kid, cached); ok {
		report.verified = true
		return payload, nil
	}
	keys, err := r.refresh(ctx)
	if err != nil {
		report.unavailable = err
		return nil, err
	}
	if payload, ok := verifyWithKeys(jws, kid, keys); ok {
		report.verified = true
		return payload, nil
	}
	return nil, errors.New("no key verifies the signature")
}

func verifyWithKeys(jws *jose.JSONWebSignature, kid string, keys []jose.JSONWebKey) ([]byte, bool) {
	for _, k := range keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(k); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// refresh returns fresh keys: it fetches the JWKS unless it did so
// successfully less than the refresh interval ago, in which case it returns
// the cached keys. Concurrent callers share one fetch.
func (r *remoteKeys) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	r.mu.Lock()
	f := r.inflight
	if f == nil {
		if !r.fetched.IsZero() && time.Since(r.fetched) < r.opts.refresh {
			keys := r.keys
			r.mu.Unlock()
			return keys, nil
		}
		f = &keyFetch{done: make(chan struct{})}
		r.inflight = f
		go r.fetch(context.WithoutCancel(ctx), f)
	}
	r.mu.Unlock()

	select {
	case <-f.done:
		return f.keys, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: fetch keys of issuer %q: %w", hallmark.ErrUnavailable, r.issuer, context.Cause(ctx))
	}
}

// fetch runs one JWKS fetch, bounded by the issuer timeout, and completes f.
func (r *remoteKeys) fetch(ctx context.Context, f *keyFetch) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.timeout)
	defer cancel()
	keys, err := r.fetchKeys(ctx)
	if err != nil {
		err = fmt.Errorf("%w: fetch keys of issuer %q: %w", hallmark.ErrUnavailable, r.issuer, err)
		r.opts.log.WarnContext(ctx, "fetch OIDC issuer keys", "issuer", r.issuer, "error", err)
	}
	r.mu.Lock()
	if err == nil {
		r.keys, r.fetched = keys, time.Now()
	}
	r.inflight = nil
	r.mu.Unlock()
	f.keys, f.err = keys, err
	close(f.done)
}

func (r *remoteKeys) fetchKeys(ctx context.Context) ([]jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := getIssuerJSON(ctx, r.opts.client, r.url, &set); err != nil {
		return nil, err
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := json.Unmarshal(raw, &k); err != nil {
			continue // a key type this gateway does not use
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if pub := k.Public(); pub.Valid() {
			keys = append(keys, pub)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS has no usable signing key")
	}
	return keys, nil
}

// getIssuerJSON GETs u and decodes its JSON body of at most
// maxIssuerResponseBytes into v.
func getIssuerJSON(ctx context.Context, client *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("create request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIssuerResponseBytes+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", u, err)
	}
	if len(body) > maxIssuerResponseBytes {
		return fmt.Errorf("read %s: response is larger than %d bytes", u, maxIssuerResponseBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode %s: %w", u, err)
	}
	return nil
}

type identityKey struct{}

// IdentityFromContext returns the identity the interceptor verified for the
// request that ctx belongs to.
func IdentityFromContext(ctx context.Context) (hallmark.Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(hallmark.Identity)
	return id, ok
}

func withIdentity(ctx context.Context, id hallmark.Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// Interceptor returns a Connect interceptor for handlers. It authenticates
// every call, except to public procedures, with the bearer token of its
// Authorization header, and stores the identity for IdentityFromContext.
// Calls without a valid token fail with CodeUnauthenticated (CodeUnavailable
// while the token's issuer cannot be reached). Clients pass through.
func (a *Authenticator) Interceptor() connect.Interceptor {
	return &authInterceptor{a: a}
}

type authInterceptor struct{ a *Authenticator }

var _ connect.Interceptor = (*authInterceptor)(nil)

func (i *authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, err := i.a.authenticateCall(ctx, req.Spec().Procedure, req.Header())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (i *authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i *authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := i.a.authenticateCall(ctx, conn.Spec().Procedure, conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

// authenticateCall authenticates one call and returns its context with the
// identity, or a Connect error.
func (a *Authenticator) authenticateCall(ctx context.Context, procedure string, h http.Header) (context.Context, error) {
	if a.opts.public[procedure] {
		return ctx, nil
	}
	raw, err := a.bearerToken(h)
	if err != nil {
		return ctx, a.callError(ctx, procedure, err)
	}
	id, err := a.Authenticate(ctx, raw)
	if err != nil {
		return ctx, a.callError(ctx, procedure, err)
	}
	return withIdentity(ctx, id), nil
}

func (a *Authenticator) callError(ctx context.Context, procedure string, err error) error {
	code := connect.CodeUnauthenticated
	if errors.Is(err, hallmark.ErrUnavailable) {
		code = connect.CodeUnavailable
	}
	a.opts.log.InfoContext(ctx, "reject call", "procedure", procedure, "code", code.String(), "error", err)
	ce := publicError(code, err)
	if code == connect.CodeUnauthenticated {
		ce.Meta().Set("WWW-Authenticate", `Bearer realm="hallmark"`)
	}
	return ce
}

// bearerToken returns the token of the one "Authorization: Bearer <token>"
// header (RFC 6750). Its errors never quote the header.
func (a *Authenticator) bearerToken(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return "", fmt.Errorf("%w: missing Authorization header with a bearer token", hallmark.ErrUnauthenticated)
	case 1:
	default:
		return "", fmt.Errorf("%w: more than one Authorization header", hallmark.ErrUnauthenticated)
	}
	v := values[0]
	if len(v) > a.opts.maxTokenBytes+len("Bearer ")+16 {
		return "", fmt.Errorf("%w: Authorization header is larger than %d bytes", hallmark.ErrUnauthenticated, a.opts.maxTokenBytes)
	}
	scheme, tok, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf("%w: Authorization header does not use the Bearer scheme", hallmark.ErrUnauthenticated)
	}
	tok = strings.Trim(tok, " ")
	if tok == "" {
		return "", fmt.Errorf("%w: empty bearer token", hallmark.ErrUnauthenticated)
	}
	if !isB64Token(tok) {
		return "", fmt.Errorf("%w: malformed bearer token", hallmark.ErrUnauthenticated)
	}
	return tok, nil
}

// isB64Token reports whether s is an RFC 6750 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}
