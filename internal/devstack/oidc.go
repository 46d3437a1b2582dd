package devstack

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	// maxTokenRequestSize bounds the body of a POST /token request.
	maxTokenRequestSize = 64 << 10
	// maxExtraClaims bounds the number of extra claims of one token request.
	maxExtraClaims = 64
	// claimPrefix marks an extra claim among the token request fields.
	claimPrefix = "claim."
)

// registeredClaims are the claims that Mint sets itself; extra claims may not
// replace them.
var registeredClaims = []string{"iss", "sub", "aud", "iat", "nbf", "exp", "jti"}

// Issuer is a small but real OpenID Connect issuer for the dev stack and
// end-to-end tests. It signs ID tokens with an ephemeral ECDSA P-256 key
// (ES256) that never leaves the process, and serves the discovery document,
// the JWKS and a token endpoint through Handler.
//
// The token endpoint mints a token for anyone who can reach it: serve an
// Issuer on a loopback address only, never in production.
type Issuer struct {
	url    atomic.Pointer[string]
	signer jose.Signer
	public jose.JSONWebKey
	opts   issuerOptions
	codes  codeStore
}

type issuerOptions struct {
	url        string
	defaultTTL time.Duration
	maxTTL     time.Duration
	now        func() time.Time
}

// IssuerOption configures an Issuer.
type IssuerOption func(*issuerOptions) error

// WithURL sets the issuer URL: the "iss" claim of every token and the base of
// the discovery document's endpoints. It must be an absolute http or https
// URL without query or fragment; a trailing slash is removed. When the URL
// has a path, mount Handler under that path with http.StripPrefix. The
// default is the address of the listener first given to Serve,
// "http://127.0.0.1:PORT".
func WithURL(u string) IssuerOption {
	return func(o *issuerOptions) error {
		p, err := url.Parse(u)
		if err != nil {
			return fmt.Errorf("parse issuer URL: %w", err)
		}
		if p.Scheme != "http" && p.Scheme != "https" {
			return fmt.Errorf("issuer URL %q: scheme must be http or https", u)
		}
		if p.Host == "" || p.User != nil || p.RawQuery != "" || p.Fragment != "" || p.Opaque != "" {
			return fmt.Errorf("issuer URL %q: want scheme://host[:port][/path] only", u)
		}
		o.url = strings.TrimSuffix(u, "/")
		return nil
	}
}

// WithDefaultTTL sets the lifetime of tokens minted without one. The default
// is 1 h.
func WithDefaultTTL(d time.Duration) IssuerOption {
	return func(o *issuerOptions) error {
		if d <= 0 {
			return fmt.Errorf("default TTL %s: must be positive", d)
		}
		o.defaultTTL = d
		return nil
	}
}

// WithMaxTTL sets the longest lifetime a token may be minted with. The
// default is 24 h.
func WithMaxTTL(d time.Duration) IssuerOption {
	return func(o *issuerOptions) error {
		if d <= 0 {
			return fmt.Errorf("max TTL %s: must be positive", d)
		}
		o.maxTTL = d
		return nil
	}
}

// WithClock sets the clock that dates minted tokens (iat, nbf, exp); tests use
// it to mint expired tokens. The default is time.Now.
func WithClock(now func() time.Time) IssuerOption {
	return func(o *issuerOptions) error {
		if now == nil {
			return errors.New("clock is nil")
		}
		o.now = now
		return nil
	}
}

// NewIssuer returns an Issuer with a fresh signing key.
func NewIssuer(opts ...IssuerOption) (*Issuer, error) {
	o := issuerOptions{
		defaultTTL: time.Hour,
		maxTTL:     24 * time.Hour,
		now:        time.Now,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.defaultTTL > o.maxTTL {
		return nil, fmt.Errorf("default TTL %s exceeds max TTL %s", o.defaultTTL, o.maxTTL)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	public := jose.JSONWebKey{Key: &key.PublicKey, Algorithm: string(jose.ES256), Use: "sig"}
	thumb, err := public.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("compute key id: %w", err)
	}
	public.KeyID = base64.RawURLEncoding.EncodeToString(thumb)

	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: public.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("create signer: %w", err)
	}

	i := &Issuer{signer: signer, public: public, opts: o}
	if o.url != "" {
		i.url.Store(&o.url)
	}
	return i, nil
}

// URL returns the issuer URL, or "" while it is not known yet: with no
// WithURL option, Serve sets it from its listener before serving.
func (i *Issuer) URL() string {
	if u := i.url.Load(); u != nil {
		return *u
	}
	return ""
}

// KeyID returns the "kid" of the signing key, as published in the JWKS.
func (i *Issuer) KeyID() string { return i.public.KeyID }

// Serve serves Handler on ln until ctx is done, then shuts the server down
// gracefully and returns nil. If the Issuer has no URL yet, Serve sets it to
// "http://" + ln.Addr() before it serves; another goroutine that needs the
// URL right away should pass WithURL to NewIssuer instead. Serve does not
// close ln if it returns early with an error.
func (i *Issuer) Serve(ctx context.Context, ln net.Listener) error {
	u := "http://" + ln.Addr().String()
	i.url.CompareAndSwap(nil, &u)

	srv := &http.Server{
		Handler:           i.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve OIDC issuer: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down OIDC issuer: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve OIDC issuer: %w", err)
	}
	return nil
}

// Mint signs an ID token for subject and audience that expires after ttl (0
// means the default TTL). Besides claims it holds iss, sub, aud, iat, nbf, exp
// and a random jti; claims may not set any of those. Mint needs the issuer
// URL: pass WithURL to NewIssuer, or call Serve first.
func (i *Issuer) Mint(subject, audience string, ttl time.Duration, claims map[string]any) (string, error) {
	iss := i.URL()
	if iss == "" {
		return "", errors.New("mint token: issuer URL is not set: use WithURL or Serve")
	}
	if subject == "" {
		return "", errors.New("mint token: subject is empty")
	}
	if audience == "" {
		return "", errors.New("mint token: audience is empty")
	}
	switch {
	case ttl == 0:
		ttl = i.opts.defaultTTL
	case ttl < 0:
		return "", fmt.Errorf("mint token: TTL %s is negative", ttl)
	case ttl > i.opts.maxTTL:
		return "", fmt.Errorf("mint token: TTL %s exceeds the maximum %s", ttl, i.opts.maxTTL)
	}
	for name := range claims {
		if name == "" {
			return "", errors.New("mint token: claim name is empty")
		}
		if slices.Contains(registeredClaims, name) {
			return "", fmt.Errorf("mint token: claim %q is set by the issuer", name)
		}
	}

	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("mint token: generate jti: %w", err)
	}
	now := i.opts.now()
	registered := jwt.Claims{
		Issuer:    iss,
		Subject:   subject,
		Audience:  jwt.Audience{audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		Expiry:    jwt.NewNumericDate(now.Add(ttl)),
		ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
	}
	b := jwt.Signed(i.signer).Claims(registered)
	if len(claims) > 0 {
		b = b.Claims(maps.Clone(claims))
	}
	tok, err := b.Serialize()
	if err != nil {
		return "", fmt.Errorf("mint token: sign: %w", err)
	}
	return tok, nil
}

// Handler serves the issuer's endpoints, relative to the issuer URL:
//
//	GET  /.well-known/openid-configuration  the discovery document
//	GET  /jwks                              the public signing key
//	GET  /authorize                         authorization code with PKCE (oidc_code.go)
//	POST /token                             mint a token, or exchange a code
//
// POST /token takes a form (application/x-www-form-urlencoded) or a JSON
// object with the fields "subject" and "audience", an optional "ttl" in
// seconds, and extra string claims as "claim.<name>" fields (JSON also
// accepts them as a "claims" object). It answers {"token": "..."}.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.serveDiscovery)
	mux.HandleFunc("GET /jwks", i.serveJWKS)
	mux.HandleFunc("GET /authorize", i.serveAuthorize)
	mux.HandleFunc("POST /token", i.serveToken)
	return mux
}

func (i *Issuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	iss := i.URL()
	if iss == "" {
		writeOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "issuer URL is not set")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/jwks",
		"token_endpoint":                        iss + "/token",
		"authorization_endpoint":                iss + "/authorize",
		"response_types_supported":              []string{"code", "id_token"},
		"grant_types_supported":                 []string{"authorization_code"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"none"},
		"scopes_supported":                      []string{"openid"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(jose.ES256)},
		"claims_supported":                      registeredClaims,
	})
}

func (i *Issuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{i.public}})
}

// tokenRequest is a parsed POST /token request.
type tokenRequest struct {
	subject  string
	audience string
	ttl      time.Duration
	claims   map[string]any
}

func (i *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequestSize)
	if isCodeExchange(r) {
		i.serveCodeExchange(w, r)
		return
	}
	req, err := parseTokenRequest(r)
	if err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			status = http.StatusRequestEntityTooLarge
		}
		writeOAuthError(w, status, "invalid_request", err.Error())
		return
	}
	tok, err := i.Mint(req.subject, req.audience, req.ttl, req.claims)
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}

func parseTokenRequest(r *http.Request) (tokenRequest, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return tokenRequest{}, errors.New("parse content type: want application/json or application/x-www-form-urlencoded")
	}
	fields := map[string]string{}
	switch mt {
	case "application/json":
		if err := parseJSONFields(r.Body, fields); err != nil {
			return tokenRequest{}, err
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return tokenRequest{}, fmt.Errorf("parse form: %w", err)
		}
		for name, values := range r.PostForm {
			if len(values) != 1 {
				return tokenRequest{}, fmt.Errorf("field %q: want one value, got %d", name, len(values))
			}
			fields[name] = values[0]
		}
	default:
		return tokenRequest{}, fmt.Errorf("content type %q: want application/json or application/x-www-form-urlencoded", mt)
	}

	var req tokenRequest
	for name, value := range fields {
		switch {
		case name == "subject":
			req.subject = value
		case name == "audience":
			req.audience = value
		case name == "ttl":
			secs, err := strconv.ParseInt(value, 10, 64)
			if err != nil || secs <= 0 || secs > int64((1<<63-1)/time.Second) {
				return tokenRequest{}, fmt.Errorf("field \"ttl\": %q is not a positive number of seconds", value)
			}
			req.ttl = time.Duration(secs) * time.Second
		case strings.HasPrefix(name, claimPrefix):
			if req.claims == nil {
				req.claims = map[string]any{}
			}
			req.claims[strings.TrimPrefix(name, claimPrefix)] = value
		default:
			return tokenRequest{}, fmt.Errorf("unknown field %q", name)
		}
	}
	if len(req.claims) > maxExtraClaims {
		return tokenRequest{}, fmt.Errorf("too many claims: %d, at most %d", len(req.claims), maxExtraClaims)
	}
	return req, nil
}

// parseJSONFields flattens a JSON token request into fields: strings as they
// are, ttl as a number or a string, and the "claims" object as claim.<name>.
func parseJSONFields(body io.Reader, fields map[string]string) error {
	dec := json.NewDecoder(body)
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("decode JSON: %w", err)
	}
	if dec.More() {
		return errors.New("decode JSON: trailing data after the object")
	}
	set := func(name string, v any) error {
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case json.Number:
			if name != "ttl" {
				return fmt.Errorf("field %q: want a string", name)
			}
			s = v.String()
		default:
			return fmt.Errorf("field %q: want a string", name)
		}
		if _, dup := fields[name]; dup {
			return fmt.Errorf("field %q: given twice", name)
		}
		fields[name] = s
		return nil
	}
	for name, v := range raw {
		if name != "claims" {
			if err := set(name, v); err != nil {
				return err
			}
			continue
		}
		claims, ok := v.(map[string]any)
		if !ok {
			return errors.New(`field "claims": want an object of strings`)
		}
		for cname, cv := range claims {
			if err := set(claimPrefix+cname, cv); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}
