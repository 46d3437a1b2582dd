package config

import (
	"strings"
	"testing"
	"time"
)

func TestUIConfig(t *testing.T) {
	login := func(f func(*UILoginConfig)) Config {
		c := Default()
		c.UI.Enabled = true
		c.UI.Login = UILoginConfig{Issuer: DevIssuer, ClientID: DevAudience, RedirectURL: "http://127.0.0.1:7433/ui/callback", SessionTTL: Duration(time.Hour)}
		if f != nil {
			f(&c.UI.Login)
		}
		return c
	}
	tests := []struct {
		name    string
		c       Config
		wantErr string
	}{
		{"off", Default(), ""},
		{"bearer tokens only", func() Config { c := Default(); c.UI.Enabled = true; return c }(), ""},
		{"login", login(nil), ""},
		{"https redirect", login(func(l *UILoginConfig) { l.RedirectURL = "https://hallmark.example.com/ui/callback" }), ""},
		{"login without enabled", func() Config { c := login(nil); c.UI.Enabled = false; return c }(), "ui.login: set ui.enabled"},
		{"unknown issuer", login(func(l *UILoginConfig) { l.Issuer = "https://other.example" }), "ui.login.issuer: \"https://other.example\" is not one of auth.issuers"},
		{"client id is not the audience", login(func(l *UILoginConfig) { l.ClientID = "web" }), "ui.login.clientID: \"web\" is not the audience"},
		{"relative redirect", login(func(l *UILoginConfig) { l.RedirectURL = "/ui/callback" }), "ui.login.redirectURL: \"/ui/callback\" is not an absolute"},
		{"wrong path", login(func(l *UILoginConfig) { l.RedirectURL = "http://127.0.0.1:7433/callback" }), "the path must be /ui/callback"},
		{"plain http off loopback", login(func(l *UILoginConfig) { l.RedirectURL = "http://hallmark.example.com/ui/callback" }), "plain http is only for a loopback address"},
		{"short session", login(func(l *UILoginConfig) { l.SessionTTL = Duration(time.Second) }), "ui.login.sessionTTL: 1s is not between"},
		{"fields without issuer", func() Config { c := Default(); c.UI.Login.ClientID = "x"; return c }(), "ui.login.issuer: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestUIConfigLoads(t *testing.T) {
	c, err := Parse([]byte("signing: {disabledUnsafe: true}\nauth:\n  issuers: [{url: https://login.example, audience: web}]\nui:\n  enabled: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.UI.Enabled || c.UI.Login.Issuer != "" || time.Duration(c.UI.Login.SessionTTL) != DefaultUISessionTTL {
		t.Errorf("ui = %+v", c.UI)
	}
}
