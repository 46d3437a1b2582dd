package devstack

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// startIssuer serves a new Issuer on an httptest server whose URL is the
// issuer URL.
func startIssuer(t *testing.T, opts ...IssuerOption) (*Issuer, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	iss, err := NewIssuer(append([]IssuerOption{WithURL("http://" + srv.Listener.Addr().String())}, opts...)...)
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	srv.Config.Handler = iss.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return iss, srv
}

func newVerifier(t *testing.T, issuerURL, audience string) *oidc.IDTokenVerifier {
	t.Helper()
	provider, err := oidc.NewProvider(t.Context(), issuerURL)
	if err != nil {
		t.Fatalf("oidc.NewProvider: %v", err)
	}
	return provider.Verifier(&oidc.Config{ClientID: audience})
}

func TestIssuerTokensVerifyWithGoOIDC(t *testing.T) {
	const audience = "hallmark"
	// The issuer's clock runs behind by offset, so that it can mint tokens
	// that have already expired.
	var offset atomic.Int64
	iss, srv := startIssuer(t, WithClock(func() time.Time { return time.Now().Add(-time.Duration(offset.Load())) }))
	verifier := newVerifier(t, srv.URL, audience)

	// A second issuer with the same URL but its own key: its tokens must not
	// verify against the first issuer's JWKS.
	other, err := NewIssuer(WithURL(srv.URL))
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}

	tests := []struct {
		name    string
		issuer  *Issuer
		aud     string
		ttl     time.Duration
		behind  time.Duration
		wantErr string
	}{
		{name: "valid", issuer: iss, aud: audience},
		{name: "valid with TTL", issuer: iss, aud: audience, ttl: time.Minute},
		{name: "wrong audience", issuer: iss, aud: "someone-else", wantErr: "audience"},
		{name: "expired", issuer: iss, aud: audience, behind: 2 * time.Hour, wantErr: "expired"},
		{name: "other key", issuer: other, aud: audience, wantErr: "signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offset.Store(int64(tt.behind))
			raw, err := tt.issuer.Mint("repo:acme/app:ref:refs/heads/main", tt.aud, tt.ttl, map[string]any{"repository": "acme/app"})
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			tok, err := verifier.Verify(t.Context(), raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Verify error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tok.Issuer != srv.URL || tok.Subject != "repo:acme/app:ref:refs/heads/main" {
				t.Errorf("iss, sub = %q, %q", tok.Issuer, tok.Subject)
			}
			var claims map[string]any
			if err := tok.Claims(&claims); err != nil {
				t.Fatalf("Claims: %v", err)
			}
			if claims["repository"] != "acme/app" {
				t.Errorf("repository claim = %v", claims["repository"])
			}
			for _, c := range registeredClaims {
				if _, ok := claims[c]; !ok {
					t.Errorf("claim %q missing", c)
				}
			}
			wantTTL := tt.ttl
			if wantTTL == 0 {
				wantTTL = time.Hour
			}
			if got := tok.Expiry.Sub(tok.IssuedAt); got != wantTTL {
				t.Errorf("exp - iat = %s, want %s", got, wantTTL)
			}
		})
	}
}

func TestIssuerDiscoveryAndJWKS(t *testing.T) {
	iss, srv := startIssuer(t)

	var doc map[string]any
	getJSON(t, srv.URL+"/.well-known/openid-configuration", &doc)
	want := map[string]string{
		"issuer":         srv.URL,
		"jwks_uri":       srv.URL + "/jwks",
		"token_endpoint": srv.URL + "/token",
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %q", k, doc[k], v)
		}
	}
	if algs, _ := doc["id_token_signing_alg_values_supported"].([]any); len(algs) != 1 || algs[0] != "ES256" {
		t.Errorf("id_token_signing_alg_values_supported = %v", doc["id_token_signing_alg_values_supported"])
	}
	for _, k := range []string{"response_types_supported", "subject_types_supported"} {
		if _, ok := doc[k].([]any); !ok {
			t.Errorf("%s missing", k)
		}
	}

	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	getJSON(t, srv.URL+"/jwks", &jwks)
	if len(jwks.Keys) != 1 {
		t.Fatalf("got %d keys, want 1", len(jwks.Keys))
	}
	k := jwks.Keys[0]
	if k["kid"] != iss.KeyID() || k["kty"] != "EC" || k["crv"] != "P-256" || k["alg"] != "ES256" {
		t.Errorf("key = %v", k)
	}
	if _, ok := k["d"]; ok {
		t.Error("JWKS exposes the private key")
	}

	resp, err := srv.Client().Get(srv.URL + "/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /token status = %d, want 405", resp.StatusCode)
	}
}

func TestIssuerTokenEndpoint(t *testing.T) {
	const audience = "hallmark"
	_, srv := startIssuer(t)
	verifier := newVerifier(t, srv.URL, audience)

	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantClaims  map[string]string
		wantTTL     time.Duration
	}{
		{
			name:        "form",
			contentType: "application/x-www-form-urlencoded",
			body: url.Values{
				"subject": {"ci"}, "audience": {audience}, "ttl": {"60"}, "claim.repository": {"acme/app"},
			}.Encode(),
			wantStatus: http.StatusOK,
			wantClaims: map[string]string{"sub": "ci", "repository": "acme/app"},
			wantTTL:    time.Minute,
		},
		{
			name:       "json with claim fields and claims object",
			body:       `{"subject":"ci","audience":"hallmark","ttl":120,"claim.ref":"refs/heads/main","claims":{"repository":"acme/app"}}`,
			wantStatus: http.StatusOK,
			wantClaims: map[string]string{"sub": "ci", "ref": "refs/heads/main", "repository": "acme/app"},
			wantTTL:    2 * time.Minute,
		},
		{
			name:       "json default TTL",
			body:       `{"subject":"ci","audience":"hallmark"}`,
			wantStatus: http.StatusOK,
			wantTTL:    time.Hour,
		},
		{name: "missing subject", body: `{"audience":"hallmark"}`, wantStatus: http.StatusBadRequest},
		{name: "missing audience", body: `{"subject":"ci"}`, wantStatus: http.StatusBadRequest},
		{name: "TTL over maximum", body: `{"subject":"ci","audience":"hallmark","ttl":90000}`, wantStatus: http.StatusBadRequest},
		{name: "negative TTL", body: `{"subject":"ci","audience":"hallmark","ttl":-1}`, wantStatus: http.StatusBadRequest},
		{name: "fractional TTL", body: `{"subject":"ci","audience":"hallmark","ttl":1.5}`, wantStatus: http.StatusBadRequest},
		{name: "registered claim", body: `{"subject":"ci","audience":"hallmark","claim.exp":"1"}`, wantStatus: http.StatusBadRequest},
		{name: "non-string claim", body: `{"subject":"ci","audience":"hallmark","claims":{"n":1}}`, wantStatus: http.StatusBadRequest},
		{name: "duplicate claim", body: `{"subject":"ci","audience":"hallmark","claim.a":"x","claims":{"a":"y"}}`, wantStatus: http.StatusBadRequest},
		{name: "unknown field", body: `{"subject":"ci","audience":"hallmark","scope":"x"}`, wantStatus: http.StatusBadRequest},
		{name: "trailing data", body: `{"subject":"ci","audience":"hallmark"} {}`, wantStatus: http.StatusBadRequest},
		{name: "not JSON", body: `subject=ci`, wantStatus: http.StatusBadRequest},
		{name: "unsupported content type", contentType: "text/plain", body: "ci", wantStatus: http.StatusBadRequest},
		{
			name:       "too large",
			body:       `{"subject":"ci","audience":"hallmark","claim.big":"` + strings.Repeat("x", maxTokenRequestSize) + `"}`,
			wantStatus: http.StatusRequestEntityTooLarge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			resp, err := srv.Client().Post(srv.URL+"/token", ct, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus != http.StatusOK {
				var e map[string]string
				if err := json.Unmarshal(body, &e); err != nil || e["error"] == "" {
					t.Errorf("error body = %s, want an OAuth error object", body)
				}
				return
			}
			var out struct {
				Token string `json:"token"`
			}
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatalf("decode %s: %v", body, err)
			}
			tok, err := verifier.Verify(t.Context(), out.Token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			var claims map[string]any
			if err := tok.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.wantClaims {
				if claims[k] != v {
					t.Errorf("claim %s = %v, want %q", k, claims[k], v)
				}
			}
			if got := tok.Expiry.Sub(tok.IssuedAt); got != tt.wantTTL {
				t.Errorf("exp - iat = %s, want %s", got, tt.wantTTL)
			}
		})
	}
}

func TestIssuerMint(t *testing.T) {
	iss, err := NewIssuer(WithURL("http://127.0.0.1:9/"), WithMaxTTL(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if iss.URL() != "http://127.0.0.1:9" {
		t.Errorf("URL = %q, want the trailing slash removed", iss.URL())
	}
	tests := []struct {
		name     string
		sub, aud string
		ttl      time.Duration
		claims   map[string]any
		wantErr  string
	}{
		{name: "ok", sub: "s", aud: "a", ttl: 2 * time.Hour},
		{name: "empty subject", aud: "a", wantErr: "subject is empty"},
		{name: "empty audience", sub: "s", wantErr: "audience is empty"},
		{name: "TTL over max", sub: "s", aud: "a", ttl: 3 * time.Hour, wantErr: "exceeds the maximum"},
		{name: "negative TTL", sub: "s", aud: "a", ttl: -time.Second, wantErr: "negative"},
		{name: "registered claim", sub: "s", aud: "a", claims: map[string]any{"iss": "x"}, wantErr: `claim "iss"`},
		{name: "empty claim name", sub: "s", aud: "a", claims: map[string]any{"": "x"}, wantErr: "claim name is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := iss.Mint(tt.sub, tt.aud, tt.ttl, tt.claims)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Mint: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Mint error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}

	noURL, err := NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noURL.Mint("s", "a", 0, nil); err == nil {
		t.Error("Mint without URL succeeded")
	}
}

func TestNewIssuerOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []IssuerOption
	}{
		{name: "relative URL", opts: []IssuerOption{WithURL("/x")}},
		{name: "ftp URL", opts: []IssuerOption{WithURL("ftp://127.0.0.1")}},
		{name: "URL with query", opts: []IssuerOption{WithURL("http://127.0.0.1?a=b")}},
		{name: "zero default TTL", opts: []IssuerOption{WithDefaultTTL(0)}},
		{name: "zero max TTL", opts: []IssuerOption{WithMaxTTL(0)}},
		{name: "default over max", opts: []IssuerOption{WithDefaultTTL(2 * time.Hour), WithMaxTTL(time.Hour)}},
		{name: "nil clock", opts: []IssuerOption{WithClock(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewIssuer(tt.opts...); err == nil {
				t.Error("NewIssuer succeeded, want an error")
			}
		})
	}
}

func TestIssuerServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	iss, err := NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- iss.Serve(ctx, ln) }()

	wantURL := "http://" + ln.Addr().String()
	var doc struct {
		Issuer string `json:"issuer"`
	}
	getJSON(t, wantURL+"/.well-known/openid-configuration", &doc)
	if doc.Issuer != wantURL {
		t.Errorf("issuer = %q, want %q", doc.Issuer, wantURL)
	}
	if iss.URL() != wantURL {
		t.Errorf("URL() = %q, want %q", iss.URL(), wantURL)
	}
	verifier := newVerifier(t, wantURL, "hallmark")
	raw, err := iss.Mint("ci", "hallmark", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier.Verify(t.Context(), raw); err != nil {
		t.Errorf("Verify: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve = %v, want nil after cancel", err)
	}
	if resp, err := http.Get(wantURL + "/jwks"); err == nil {
		resp.Body.Close()
		t.Error("issuer still serves after Serve returned")
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", u, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: content type %q", u, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decode: %v", u, err)
	}
}
