package ui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

const (
	// loginTTL bounds a sign-in from /ui/login to /ui/callback.
	loginTTL = 10 * time.Minute
	// maxIssuerBytes bounds a discovery document or a token response.
	maxIssuerBytes = 1 << 20
	// issuerTimeout bounds each request to the issuer.
	issuerTimeout = 10 * time.Second
)

// Login is the web view's OIDC sign-in: the authorization code flow with
// PKCE (S256). The ID token it gets is verified by Deps.Authenticate, as
// an API token is, so ClientID must be an audience the API accepts from
// Issuer.
type Login struct {
	// Issuer is the issuer URL; its discovery document names the
	// authorization and token endpoints.
	Issuer string
	// ClientID and ClientSecret identify the web view to the issuer; an
	// empty secret is a public client.
	ClientID, ClientSecret string
	// RedirectURL is <the web view's address>/ui/callback as browsers
	// reach it; an https URL marks cookies Secure.
	RedirectURL string
	// SessionKey seals the cookies: SessionKeyBytes bytes. Nil generates
	// one, so that sessions end with the process.
	SessionKey []byte
	// SessionTTL is how long a sign-in lasts; zero is 8h.
	SessionTTL time.Duration
	// HTTPClient talks to the issuer; nil is http.DefaultClient.
	HTTPClient *http.Client
}

// WithLogin signs people in through an OIDC issuer; requests without
// credentials are sent to sign in. The default takes bearer tokens only.
func WithLogin(l Login) Option {
	return func(o *options) error {
		u, err := url.Parse(l.RedirectURL)
		switch {
		case l.Issuer == "" || l.ClientID == "":
			return errors.New("login: issuer and client id are required")
		case err != nil || !u.IsAbs() || u.Path != Prefix+"callback":
			return fmt.Errorf("login: redirect URL %q: want <scheme>://<host>%scallback", l.RedirectURL, Prefix)
		case l.SessionTTL < 0:
			return errors.New("login: negative session TTL")
		}
		if l.SessionKey == nil {
			l.SessionKey = make([]byte, SessionKeyBytes)
			if _, err := rand.Read(l.SessionKey); err != nil {
				return fmt.Errorf("login: generate session key: %w", err)
			}
		}
		if l.SessionTTL == 0 {
			l.SessionTTL = 8 * time.Hour
		}
		if l.HTTPClient == nil {
			l.HTTPClient = http.DefaultClient
		}
		s, err := newSealer(l.SessionKey)
		if err != nil {
			return fmt.Errorf("login: %w", err)
		}
		o.login = &loginState{Login: l, sealer: s, secure: u.Scheme == "https"}
		return nil
	}
}

// loginState is a configured sign-in and the issuer's endpoints, once
// discovered.
type loginState struct {
	Login
	sealer *sealer
	secure bool

	mu                sync.Mutex
	authURL, tokenURL string
}

// pendingLogin is a sign-in in progress, in the login cookie.
type pendingLogin struct {
	State    string    `json:"state"`
	Verifier string    `json:"verifier"`
	Nonce    string    `json:"nonce"`
	Next     string    `json:"next"`
	Expires  time.Time `json:"exp"`
}

// endpoints returns the issuer's authorization and token endpoints from
// its discovery document, read once.
func (l *loginState) endpoints(ctx context.Context) (authURL, tokenURL string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.authURL != "" {
		return l.authURL, l.tokenURL, nil
	}
	var doc struct {
		Issuer   string   `json:"issuer"`
		Auth     string   `json:"authorization_endpoint"`
		Token    string   `json:"token_endpoint"`
		Methods  []string `json:"code_challenge_methods_supported"`
		Response []string `json:"response_types_supported"`
	}
	if err := l.getJSON(ctx, strings.TrimSuffix(l.Issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
		return "", "", fmt.Errorf("discover issuer %s: %w", l.Issuer, err)
	}
	switch {
	case doc.Issuer != l.Issuer:
		return "", "", fmt.Errorf("discover issuer %s: the document names issuer %q", l.Issuer, hallmark.Clip(doc.Issuer, 200))
	case doc.Auth == "" || doc.Token == "":
		return "", "", fmt.Errorf("discover issuer %s: no authorization or token endpoint", l.Issuer)
	}
	l.authURL, l.tokenURL = doc.Auth, doc.Token
	return l.authURL, l.tokenURL, nil
}

func (l *loginState) getJSON(ctx context.Context, u string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, issuerTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	return l.do(req, v)
}

// do sends req and decodes a 200 answer's JSON into v.
func (l *loginState) do(req *http.Request, v any) error {
	resp, err := l.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIssuerBytes+1))
	if err != nil {
		return err
	}
	if len(body) > maxIssuerBytes {
		return fmt.Errorf("answer over %d bytes", maxIssuerBytes)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return fmt.Errorf("status %d %s", resp.StatusCode, hallmark.Clip(e.Error, 100))
	}
	return json.Unmarshal(body, v)
}

// randomToken is 32 random bytes, base64url.
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// safeNext is where to go after signing in: a path of the web view, never
// another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix + "images"
	}
	return next
}

// serveLogin starts a sign-in: it keeps a fresh state, PKCE verifier and
// nonce in the login cookie and sends the browser to the issuer.
func (h *handler) serveLogin(w http.ResponseWriter, r *http.Request) {
	l := h.login
	authURL, _, err := l.endpoints(r.Context())
	if err != nil {
		h.opts.log.ErrorContext(r.Context(), "ui: sign-in", "error", err)
		h.fail(w, r, http.StatusBadGateway, "The sign-in issuer cannot be reached; try again later.")
		return
	}
	p := pendingLogin{Next: safeNext(r.URL.Query().Get("next")), Expires: h.opts.now().Add(loginTTL)}
	for _, f := range []*string{&p.State, &p.Verifier, &p.Nonce} {
		if *f, err = randomToken(); err != nil {
			h.fail(w, r, http.StatusInternalServerError, "The sign-in could not start.")
			return
		}
	}
	sealed, err := l.sealer.seal(loginCookie, p)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "The sign-in could not start.")
		return
	}
	http.SetCookie(w, h.cookie(loginCookie, sealed, int(loginTTL.Seconds())))
	challenge := sha256.Sum256([]byte(p.Verifier))
	u, err := url.Parse(authURL)
	if err != nil {
		h.fail(w, r, http.StatusBadGateway, "The sign-in issuer's authorization endpoint is not a URL.")
		return
	}
	q := u.Query()
	for k, v := range map[string]string{
		"response_type": "code", "client_id": l.ClientID, "redirect_uri": l.RedirectURL, "scope": "openid",
		"state": p.State, "nonce": p.Nonce,
		"code_challenge": base64.RawURLEncoding.EncodeToString(challenge[:]), "code_challenge_method": "S256",
	} {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// serveCallback finishes a sign-in: the state must be the login cookie's,
// the code is exchanged with the PKCE verifier, and the ID token must
// verify as an API token of the issuer, with the nonce.
func (h *handler) serveCallback(w http.ResponseWriter, r *http.Request) {
	ctx, l, q := r.Context(), h.login, r.URL.Query()
	var p pendingLogin
	err := l.sealer.open(r, loginCookie, &p)
	h.clearCookie(w, loginCookie)
	if err != nil || h.opts.now().After(p.Expires) {
		h.fail(w, r, http.StatusBadRequest, "This sign-in expired or was started in another browser: sign in again.")
		return
	}
	if e := q.Get("error"); e != "" {
		h.fail(w, r, http.StatusForbidden, "The issuer refused the sign-in: "+hallmark.Clip(e, 100))
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(p.State)) != 1 || q.Get("code") == "" {
		h.fail(w, r, http.StatusBadRequest, "This sign-in does not match the one this browser started: sign in again.")
		return
	}
	id, err := h.exchange(ctx, q.Get("code"), p)
	if err != nil {
		h.opts.log.InfoContext(ctx, "ui: sign-in failed", "error", err)
		h.fail(w, r, http.StatusUnauthorized, "The sign-in failed: the issuer's answer did not verify.")
		return
	}
	sealed, err := l.sealer.seal(sessionCookie, session{Issuer: id.Issuer, Subject: id.Subject, Claims: id.Claims, Expires: h.opts.now().Add(l.SessionTTL)})
	if err != nil {
		h.opts.log.WarnContext(ctx, "ui: sign-in failed", "error", err)
		h.fail(w, r, http.StatusInternalServerError, "The sign-in failed: the identity does not fit in a cookie.")
		return
	}
	http.SetCookie(w, h.cookie(sessionCookie, sealed, int(l.SessionTTL.Seconds())))
	h.opts.log.InfoContext(ctx, "ui: signed in", "issuer", id.Issuer, "subject", id.Subject)
	http.Redirect(w, r, p.Next, http.StatusSeeOther)
}

// exchange trades a code for an ID token and verifies it.
func (h *handler) exchange(ctx context.Context, code string, p pendingLogin) (hallmark.Identity, error) {
	l := h.login
	_, tokenURL, err := l.endpoints(ctx)
	if err != nil {
		return hallmark.Identity{}, err
	}
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {l.RedirectURL},
		"client_id": {l.ClientID}, "code_verifier": {p.Verifier},
	}
	if l.ClientSecret != "" {
		form.Set("client_secret", l.ClientSecret)
	}
	ctx, cancel := context.WithTimeout(ctx, issuerTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return hallmark.Identity{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if err := l.do(req, &tok); err != nil {
		return hallmark.Identity{}, fmt.Errorf("exchange code: %w", err)
	}
	if tok.IDToken == "" {
		return hallmark.Identity{}, errors.New("exchange code: no id_token")
	}
	id, err := h.deps.Authenticate(ctx, tok.IDToken)
	if err != nil {
		return hallmark.Identity{}, fmt.Errorf("verify id token: %w", err)
	}
	if id.Issuer != l.Issuer {
		return hallmark.Identity{}, fmt.Errorf("verify id token: issuer %q, want %q", hallmark.Clip(id.Issuer, 200), l.Issuer)
	}
	if n, _ := id.Claims["nonce"].(string); subtle.ConstantTimeCompare([]byte(n), []byte(p.Nonce)) != 1 {
		return hallmark.Identity{}, errors.New("verify id token: nonce differs from the sign-in's")
	}
	return id, nil
}

// serveLogout ends the session (a POST from a page of the web view: the
// CSRF guard refuses others).
func (h *handler) serveLogout(w http.ResponseWriter, r *http.Request) {
	h.clearCookie(w, sessionCookie)
	h.render(w, r, http.StatusOK, "error", errorPage{layout: layout{Title: "Signed out"}, Message: "You are signed out.", SignIn: true})
}

// sessionIdentity is the identity of the request's session cookie.
func (h *handler) sessionIdentity(r *http.Request) (hallmark.Identity, error) {
	if h.login == nil {
		return hallmark.Identity{}, errNoCredentials
	}
	var s session
	if err := h.login.sealer.open(r, sessionCookie, &s); err != nil {
		if errors.Is(err, http.ErrNoCookie) {
			return hallmark.Identity{}, errNoCredentials
		}
		return hallmark.Identity{}, err
	}
	if h.opts.now().After(s.Expires) {
		return hallmark.Identity{}, errors.New("session expired")
	}
	return hallmark.Identity{Issuer: s.Issuer, Subject: s.Subject, Claims: s.Claims}, nil
}
