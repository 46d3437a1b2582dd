package config

import (
	"net/url"
	"strings"
	"time"
)

// DefaultUISessionTTL is the default of ui.login.sessionTTL.
const DefaultUISessionTTL = 8 * time.Hour

// UIConfig configures the web view at /ui/ (docs/ui.md).
type UIConfig struct {
	// Enabled serves the web view on the API listener. The default is
	// off.
	Enabled bool `json:"enabled"`
	// Login signs people in with an OIDC issuer. Without it the web view
	// takes API bearer tokens only (Authorization header).
	Login UILoginConfig `json:"login"`
}

// UILoginConfig is the OIDC sign-in of the web view: the authorization
// code flow with PKCE (S256).
type UILoginConfig struct {
	// Issuer is the URL of one of auth.issuers. Its ID tokens are verified
	// as the API verifies tokens, so ClientID must be that issuer's
	// audience. Empty (the default) turns sign-in off.
	Issuer string `json:"issuer"`
	// ClientID is the OAuth client registered with the issuer for the
	// web view.
	ClientID string `json:"clientID"`
	// ClientSecretFile holds the client's secret, if the issuer gives it
	// one; re-read at start. Empty: a public client (PKCE only).
	ClientSecretFile string `json:"clientSecretFile"`
	// RedirectURL is the callback as browsers reach it,
	// "https://hallmark.example.com/ui/callback"; registered with the
	// issuer. Its scheme decides whether cookies are marked Secure.
	RedirectURL string `json:"redirectURL"`
	// SessionKeyFile holds at least 32 random bytes that seal session
	// cookies; re-read at start. Replicas behind one address share it.
	// Empty: a key generated at start, so sessions end with the process.
	SessionKeyFile string `json:"sessionKeyFile"`
	// SessionTTL is how long a sign-in lasts. The default is 8h.
	SessionTTL Duration `json:"sessionTTL"`
}

func (c Config) validateUI(v *validation) {
	l := c.UI.Login
	if l.Issuer == "" {
		if l.ClientID != "" || l.RedirectURL != "" || l.ClientSecretFile != "" || l.SessionKeyFile != "" {
			v.bad("ui.login.issuer", "is required when ui.login sets other fields")
		}
		return
	}
	if !c.UI.Enabled {
		v.bad("ui.login", "set ui.enabled: true, or remove ui.login")
	}
	var audience string
	found := false
	for _, is := range c.Auth.Issuers {
		if is.URL == l.Issuer {
			audience, found = is.Audience, true
		}
	}
	switch {
	case !found:
		v.bad("ui.login.issuer", "%q is not one of auth.issuers: sign-in tokens are verified as API tokens are", l.Issuer)
	case l.ClientID != audience:
		v.bad("ui.login.clientID", "%q is not the audience %q of auth.issuers entry %q: the ID tokens' audience is the client id", l.ClientID, audience, l.Issuer)
	}
	u, err := url.Parse(l.RedirectURL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		v.bad("ui.login.redirectURL", "%q is not an absolute http(s) URL", l.RedirectURL)
	case u.Path != "/ui/callback" || u.RawQuery != "" || u.Fragment != "":
		v.bad("ui.login.redirectURL", "%q: the path must be /ui/callback, without query or fragment", l.RedirectURL)
	case u.Scheme == "http" && !IsLoopback(strings.Split(u.Hostname(), "%")[0]):
		v.bad("ui.login.redirectURL", "%q: plain http is only for a loopback address: session cookies would cross the network in clear text", l.RedirectURL)
	}
	if d := time.Duration(l.SessionTTL); d < time.Minute || d > 7*24*time.Hour {
		v.bad("ui.login.sessionTTL", "%s is not between 1m and 168h", d)
	}
}
