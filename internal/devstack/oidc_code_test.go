package devstack

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize asks the authorization endpoint for a code and returns the
// redirect's query.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("authorize: status %d: %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc.String(), "http://app.example/ui/callback?") {
		t.Fatalf("redirected to %s", loc)
	}
	return loc.Query()
}

func TestIssuerAuthorizationCodeWithPKCE(t *testing.T) {
	var offset atomic.Int64
	_, srv := startIssuer(t, WithClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }))
	conf := &oauth2.Config{
		ClientID: "hallmark", RedirectURL: "http://app.example/ui/callback", Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: srv.URL + "/authorize", TokenURL: srv.URL + "/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	verifier := oauth2.GenerateVerifier()
	asAlice := oauth2.SetAuthURLParam("subject", "alice")
	nonce := oauth2.SetAuthURLParam("nonce", "n-123")

	t.Run("discovery", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d struct {
			Authorization string   `json:"authorization_endpoint"`
			Methods       []string `json:"code_challenge_methods_supported"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
		if d.Authorization != srv.URL+"/authorize" || len(d.Methods) != 1 || d.Methods[0] != "S256" {
			t.Errorf("discovery %+v", d)
		}
	})
	t.Run("sign in", func(t *testing.T) {
		q := authorize(t, conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), asAlice, nonce))
		if q.Get("state") != "st-1" || q.Get("code") == "" {
			t.Fatalf("redirect query %v", q)
		}
		tok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		id, err := newVerifier(t, srv.URL, "hallmark").Verify(t.Context(), raw)
		if err != nil {
			t.Fatal(err)
		}
		if id.Subject != "alice" || id.Nonce != "n-123" {
			t.Errorf("sub %q nonce %q", id.Subject, id.Nonce)
		}
		if _, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Errorf("second exchange of a code: %v, want invalid_grant", err)
		}
	})
	t.Run("form without a subject", func(t *testing.T) {
		resp, err := noRedirect.Get(conf.AuthCodeURL(`"><script>`, oauth2.S256ChallengeOption(verifier)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `id="subject"`) || strings.Contains(string(body), "<script>") {
			t.Errorf("status %d: %s", resp.StatusCode, body)
		}
		// The form's redirect to the client must be a form-action the
		// page allows, or browsers stop it.
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://app.example;") && !strings.HasSuffix(csp, "form-action 'self' http://app.example") {
			t.Errorf("CSP %q does not let the form reach the client", csp)
		}
	})
	bad := []struct {
		name     string
		exchange func(code string) error
		offset   time.Duration
	}{
		{"wrong verifier", func(code string) error {
			_, err := conf.Exchange(t.Context(), code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
			return err
		}, 0},
		{"no verifier", func(code string) error { _, err := conf.Exchange(t.Context(), code); return err }, 0},
		{"other redirect", func(code string) error {
			c := *conf
			c.RedirectURL = "http://evil.example/ui/callback"
			_, err := c.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
			return err
		}, 0},
		{"other client", func(code string) error {
			c := *conf
			c.ClientID = "other"
			_, err := c.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
			return err
		}, 0},
		{"expired code", func(code string) error {
			_, err := conf.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
			return err
		}, 2 * time.Minute},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			offset.Store(0)
			q := authorize(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), asAlice))
			offset.Store(int64(tt.offset))
			if err := tt.exchange(q.Get("code")); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
				t.Errorf("exchange: %v, want invalid_grant", err)
			}
		})
	}
	offset.Store(0)
	refused := map[string]string{
		"no PKCE":       conf.AuthCodeURL("s", asAlice),
		"plain PKCE":    conf.AuthCodeURL("s", asAlice, oauth2.SetAuthURLParam("code_challenge", strings.Repeat("a", 43)), oauth2.SetAuthURLParam("code_challenge_method", "plain")),
		"implicit flow": strings.Replace(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), asAlice), "response_type=code", "response_type=token", 1),
		"relative redirect": strings.Replace(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), asAlice),
			url.QueryEscape(conf.RedirectURL), url.QueryEscape("/ui/callback"), 1),
	}
	for name, u := range refused {
		t.Run(name, func(t *testing.T) {
			resp, err := noRedirect.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
		})
	}
}
