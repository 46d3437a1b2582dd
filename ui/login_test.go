package ui

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/devstack"
)

// loginSetup serves the web view with sign-in through a dev issuer whose
// ID tokens are verified with go-oidc, as the API verifies its tokens.
type loginSetup struct {
	srv    *httptest.Server
	issuer *httptest.Server
	client *http.Client
	// clock is the handler's clock, which tests may move.
	clock *time.Time
}

func newLoginSetup(t *testing.T) *loginSetup {
	t.Helper()
	db := openStore(t)
	fixture(t, db, 0, 0)
	is := httptest.NewUnstartedServer(nil)
	iss, err := devstack.NewIssuer(devstack.WithURL("http://" + is.Listener.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	is.Config.Handler = iss.Handler()
	is.Start()
	t.Cleanup(is.Close)
	var verifier *oidc.IDTokenVerifier
	authn := func(ctx context.Context, raw string) (hallmark.Identity, error) {
		if verifier == nil {
			p, err := oidc.NewProvider(ctx, is.URL)
			if err != nil {
				return hallmark.Identity{}, err
			}
			verifier = p.Verifier(&oidc.Config{ClientID: "hallmark"})
		}
		tok, err := verifier.Verify(ctx, raw)
		if err != nil {
			return hallmark.Identity{}, err
		}
		var claims map[string]any
		if err := tok.Claims(&claims); err != nil {
			return hallmark.Identity{}, err
		}
		return hallmark.Identity{Issuer: tok.Issuer, Subject: tok.Subject, Claims: claims}, nil
	}
	srv := httptest.NewUnstartedServer(nil)
	h, err := New(Deps{Authenticate: authn, Reader: reader, Store: db}, WithLogin(Login{
		Issuer: is.URL, ClientID: "hallmark", RedirectURL: "http://" + srv.Listener.Addr().String() + "/ui/callback",
	}))
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	h.(interface{ Unwrap() *handler }).Unwrap().opts.now = func() time.Time { return clock }
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &loginSetup{srv: srv, issuer: is, clock: &clock, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// step GETs u and returns the status and Location.
func (s *loginSetup) step(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := s.client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// signIn goes from path through the issuer (as subject) and back, and
// returns where the callback sent the browser.
func (s *loginSetup) signIn(t *testing.T, path, subject string) string {
	t.Helper()
	code, loc := s.step(t, s.srv.URL+path)
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/login?next=") {
		t.Fatalf("%s: %d to %q, want a redirect to sign in", path, code, loc)
	}
	code, loc = s.step(t, s.srv.URL+loc)
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, s.issuer.URL+"/authorize?") {
		t.Fatalf("login: %d to %q, want the issuer", code, loc)
	}
	u, _ := url.Parse(loc)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Fatalf("authorization request %v lacks PKCE, nonce or state", q)
	}
	q.Set("subject", subject)
	u.RawQuery = q.Encode()
	code, loc = s.step(t, u.String())
	if code != http.StatusSeeOther || !strings.Contains(loc, "/ui/callback?") {
		t.Fatalf("authorize: %d to %q", code, loc)
	}
	code, loc = s.step(t, loc)
	if code != http.StatusSeeOther {
		t.Fatalf("callback: %d", code)
	}
	return loc
}

func (s *loginSetup) page(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := s.client.Get(s.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	_, _ = io.Copy(&sb, resp.Body)
	return resp.StatusCode, sb.String()
}

func TestLogin(t *testing.T) {
	s := newLoginSetup(t)
	next := s.signIn(t, appURL+"?q=ssl", "team-a")
	if next != appURL+"?q=ssl" {
		t.Fatalf("signed in to %q, want back to the page asked for", next)
	}
	u, _ := url.Parse(s.srv.URL + "/ui/")
	var session *http.Cookie
	for _, c := range s.client.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			session = c
		}
		if c.Name == loginCookie {
			t.Error("the login cookie outlived the sign-in")
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	if strings.Contains(session.Value, "team-a") {
		t.Error("the session cookie is readable")
	}
	code, body := s.page(t, next)
	if code != http.StatusOK || !strings.Contains(body, `<span id="viewer">team-a (`) || !strings.Contains(body, `id="sign-out"`) || !strings.Contains(body, "openssl") {
		t.Fatalf("page after sign-in: %d", code)
	}
	if code, _ := s.page(t, "/ui/images/reg.example/team-b/x:v1"); code != http.StatusForbidden {
		t.Errorf("another team's repository: %d, want 403", code)
	}

	// Sign out: a same-origin POST.
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/ui/logout", nil)
	req.Header.Set("Origin", s.srv.URL)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if code, loc := s.step(t, s.srv.URL+appURL); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/login") {
		t.Errorf("after sign-out: %d to %q, want sign-in", code, loc)
	}
}

func TestLoginCookieFlags(t *testing.T) {
	s := newLoginSetup(t)
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/ui/login", nil)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if len(cookies) != 1 || cookies[0].Name != loginCookie || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode || cookies[0].Path != Prefix {
		t.Errorf("login cookie %+v", cookies)
	}
}

func TestLoginRefusals(t *testing.T) {
	t.Run("state differs", func(t *testing.T) {
		s := newLoginSetup(t)
		_, _ = s.step(t, s.srv.URL+"/ui/login")
		if code, _ := s.page(t, "/ui/callback?code=x&state=forged"); code != http.StatusBadRequest {
			t.Errorf("status %d, want 400", code)
		}
	})
	t.Run("no sign-in started", func(t *testing.T) {
		s := newLoginSetup(t)
		if code, _ := s.page(t, "/ui/callback?code=x&state=y"); code != http.StatusBadRequest {
			t.Errorf("status %d, want 400", code)
		}
	})
	t.Run("code not from the issuer", func(t *testing.T) {
		s := newLoginSetup(t)
		_, loc := s.step(t, s.srv.URL+"/ui/login")
		u, _ := url.Parse(loc)
		if code, _ := s.page(t, "/ui/callback?code=forged&state="+url.QueryEscape(u.Query().Get("state"))); code != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", code)
		}
	})
	t.Run("issuer error", func(t *testing.T) {
		s := newLoginSetup(t)
		_, loc := s.step(t, s.srv.URL+"/ui/login")
		u, _ := url.Parse(loc)
		code, body := s.page(t, "/ui/callback?error=%3Cb%3Eaccess_denied&state="+url.QueryEscape(u.Query().Get("state")))
		if code != http.StatusForbidden || strings.Contains(body, "<b>access_denied") {
			t.Errorf("status %d", code)
		}
	})
	t.Run("next is another site", func(t *testing.T) {
		s := newLoginSetup(t)
		for _, next := range []string{"//evil.example/ui/", "https://evil.example/ui/", "/ui/\\evil"} {
			s.client.Jar, _ = cookiejar.New(nil)
			code, loc := s.step(t, s.srv.URL+"/ui/login?next="+url.QueryEscape(next))
			if code != http.StatusSeeOther {
				t.Fatalf("login: %d", code)
			}
			u, _ := url.Parse(loc)
			q := u.Query()
			q.Set("subject", "team-a")
			u.RawQuery = q.Encode()
			_, cb := s.step(t, u.String())
			if _, got := s.step(t, cb); got != "/ui/images" {
				t.Errorf("next %q: sent to %q", next, got)
			}
		}
	})
	t.Run("forged session", func(t *testing.T) {
		s := newLoginSetup(t)
		u, _ := url.Parse(s.srv.URL + "/ui/")
		s.client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "AAAA" + strings.Repeat("x", 60), Path: "/ui/"}})
		if code, loc := s.step(t, s.srv.URL+appURL); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/login") {
			t.Errorf("%d to %q, want sign-in", code, loc)
		}
	})
	t.Run("bearer tokens still answer 401", func(t *testing.T) {
		s := newLoginSetup(t)
		req, _ := http.NewRequest(http.MethodGet, s.srv.URL+appURL, nil)
		req.Header.Set("Authorization", "Bearer forged")
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", resp.StatusCode)
		}
	})
}

func TestCookieSecureOverTLS(t *testing.T) {
	for _, tt := range []struct {
		redirect string
		secure   bool
	}{{"https://hallmark.example.com/ui/callback", true}, {"http://127.0.0.1:7433/ui/callback", false}} {
		h, err := New(Deps{Authenticate: authenticate, Reader: reader, Store: openStore(t)},
			WithLogin(Login{Issuer: "https://login.example", ClientID: "web", RedirectURL: tt.redirect}))
		if err != nil {
			t.Fatal(err)
		}
		c := h.(interface{ Unwrap() *handler }).Unwrap().cookie(sessionCookie, "v", 60)
		if c.Secure != tt.secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != Prefix {
			t.Errorf("%s: cookie %+v", tt.redirect, c)
		}
	}
	if _, err := New(Deps{Authenticate: authenticate, Reader: reader, Store: openStore(t)},
		WithLogin(Login{Issuer: "https://login.example", ClientID: "web", RedirectURL: "https://x.example/callback"})); err == nil {
		t.Error("a redirect URL off /ui/callback was accepted")
	}
}

func TestSessionAndSignInExpire(t *testing.T) {
	s := newLoginSetup(t)
	next := s.signIn(t, appURL, "team-a")
	if code, _ := s.page(t, next); code != http.StatusOK {
		t.Fatalf("signed in: %d", code)
	}
	*s.clock = s.clock.Add(8*time.Hour - time.Minute)
	if code, _ := s.page(t, next); code != http.StatusOK {
		t.Errorf("within the session's 8h: %d", code)
	}
	*s.clock = s.clock.Add(2 * time.Minute)
	if code, loc := s.step(t, s.srv.URL+next); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/login") {
		t.Errorf("after 8h: %d to %q, want sign-in", code, loc)
	}

	// A sign-in left at the issuer for over 10 minutes is refused.
	_, loc := s.step(t, s.srv.URL+"/ui/login")
	u, _ := url.Parse(loc)
	q := u.Query()
	q.Set("subject", "team-a")
	u.RawQuery = q.Encode()
	_, cb := s.step(t, u.String())
	*s.clock = s.clock.Add(11 * time.Minute)
	if code, _ := s.step(t, cb); code != http.StatusBadRequest {
		t.Errorf("a callback after 11 minutes: %d, want 400", code)
	}
}
