package devstack

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"sync"
	"time"
)

const (
	// codeTTL is how long an authorization code waits for its exchange.
	codeTTL = time.Minute
	// maxPendingCodes bounds the codes waiting for their exchange.
	maxPendingCodes = 1000
	// maxParamBytes bounds each parameter of an authorization request.
	maxParamBytes = 2048
)

// authCode is an authorization code waiting for its exchange.
type authCode struct {
	subject, clientID, redirectURI, challenge, nonce string
	expires                                          time.Time
}

// codeStore holds the pending codes; each is exchanged at most once.
type codeStore struct {
	mu    sync.Mutex
	codes map[string]authCode
}

func (s *codeStore) put(code string, c authCode, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.codes == nil {
		s.codes = map[string]authCode{}
	}
	for k, v := range s.codes {
		if now.After(v.expires) {
			delete(s.codes, k)
		}
	}
	if len(s.codes) >= maxPendingCodes {
		return false
	}
	s.codes[code] = c
	return true
}

// take removes a code and returns it.
func (s *codeStore) take(code string) (authCode, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[code]
	delete(s.codes, code)
	return c, ok
}

// subjectForm is the dev issuer's sign-in page: it asks for the subject
// to sign in as, and nothing else. Every parameter of the authorization
// request goes back in hidden fields.
var subjectForm = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dev issuer: sign in</title></head>
<body><h1>Hallmark dev issuer</h1>
<p>Sign in to <strong>{{.ClientID}}</strong> as any subject (dev stack only: no password).</p>
<form method="get" action="authorize">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<label>Subject <input id="subject" name="subject" value="dev-user" required></label>
<button id="sign-in" type="submit">Sign in</button>
</form></body></html>
`))

// serveAuthorize is the authorization endpoint: the authorization code
// flow with PKCE (S256 only). Without a "subject" parameter it shows a
// form that asks for one; with it, it redirects to redirect_uri with a
// code that POST /token exchanges once, within a minute, for an ID token
// of that subject whose audience is client_id.
func (i *Issuer) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	params := map[string]string{}
	for _, k := range []string{"response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method"} {
		v := q.Get(k)
		if len(v) > maxParamBytes || len(q[k]) > 1 {
			http.Error(w, "parameter "+k+" is too long or repeated", http.StatusBadRequest)
			return
		}
		params[k] = v
	}
	redirect, err := url.Parse(params["redirect_uri"])
	switch {
	case err != nil || !redirect.IsAbs() || (redirect.Scheme != "http" && redirect.Scheme != "https") || redirect.Fragment != "":
		http.Error(w, "redirect_uri: want an absolute http(s) URL without fragment", http.StatusBadRequest)
		return
	case params["response_type"] != "code":
		http.Error(w, "response_type: want code", http.StatusBadRequest)
		return
	case params["client_id"] == "":
		http.Error(w, "client_id: required", http.StatusBadRequest)
		return
	case params["code_challenge_method"] != "S256" || len(params["code_challenge"]) != 43:
		http.Error(w, "PKCE is required: code_challenge (43 characters) with code_challenge_method S256", http.StatusBadRequest)
		return
	}
	subject := q.Get("subject")
	if subject == "" || len(subject) > maxParamBytes {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The form goes to this endpoint, which redirects to the client:
		// browsers apply form-action to that redirect too.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; form-action 'self' "+redirect.Scheme+"://"+redirect.Host)
		w.Header().Set("Cache-Control", "no-store")
		_ = subjectForm.Execute(w, struct {
			ClientID string
			Params   map[string]string
		}{params["client_id"], params})
		return
	}
	code := randomString()
	now := i.opts.now()
	if !i.codes.put(code, authCode{
		subject: subject, clientID: params["client_id"], redirectURI: params["redirect_uri"],
		challenge: params["code_challenge"], nonce: params["nonce"], expires: now.Add(codeTTL),
	}, now) {
		http.Error(w, "too many sign-ins in progress", http.StatusServiceUnavailable)
		return
	}
	rq := redirect.Query()
	rq.Set("code", code)
	if s := params["state"]; s != "" {
		rq.Set("state", s)
	}
	redirect.RawQuery = rq.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusSeeOther)
}

// isCodeExchange reports whether a POST /token is a form with
// grant_type=authorization_code.
func isCodeExchange(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return false
	}
	return r.ParseForm() == nil && r.PostForm.Get("grant_type") == "authorization_code"
}

// serveCodeExchange exchanges a code for an ID token (RFC 6749 4.1.3,
// RFC 7636 4.6): the code once, before it expires, with the redirect_uri
// and client_id it was issued for and the code_verifier whose S256 is
// its challenge.
func (i *Issuer) serveCodeExchange(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	c, ok := i.codes.take(f.Get("code"))
	switch {
	case !ok || i.opts.now().After(c.expires):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "unknown, used or expired code")
		return
	case f.Get("redirect_uri") != c.redirectURI || f.Get("client_id") != c.clientID:
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri or client_id differs from the authorization request")
		return
	}
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(c.challenge)) != 1 {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge")
		return
	}
	var claims map[string]any
	if c.nonce != "" {
		claims = map[string]any{"nonce": c.nonce}
	}
	tok, err := i.Mint(c.subject, c.clientID, 0, claims)
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id_token": tok, "access_token": tok, "token_type": "Bearer", "expires_in": int(i.opts.defaultTTL.Seconds()),
	})
}

// randomString is 32 random bytes, base64url.
func randomString() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
