package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/server"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/ui"
)

func TestWithUI(t *testing.T) {
	cfg := config.Default()
	authn, err := server.NewAuthenticator(t.Context(), cfg.Auth.Issuers)
	if err != nil {
		t.Fatal(err)
	}
	authz, err := server.NewAuthorizer(cfg.Auth.Rules)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(t.Context(), store.DriverSQLite, filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	api := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	log := slog.New(slog.DiscardHandler)

	deps := ui.Deps{Authenticate: authn.Authenticate, Reader: readScope(authz), Store: db}
	h, err := withUI(cfg, log, api, deps)
	if err != nil {
		t.Fatal(err)
	}
	if w := get(h, "/ui/images"); w.Code != http.StatusTeapot {
		t.Errorf("ui off: /ui/images gave %d, want the API's answer", w.Code)
	}
	cfg.UI.Enabled = true
	if h, err = withUI(cfg, log, api, deps); err != nil {
		t.Fatal(err)
	}
	if w := get(h, "/ui/images"); w.Code != http.StatusUnauthorized || w.Header().Get("Content-Security-Policy") == "" {
		t.Errorf("ui on: /ui/images gave %d, headers %v; want 401 with a CSP", w.Code, w.Header())
	}
	if w := get(h, "/hallmark.v1.QueryService/ListImages"); w.Code != http.StatusTeapot {
		t.Errorf("ui on: the API gave %d", w.Code)
	}

	if reverifier(nil, nil) != nil {
		t.Error("a re-verifier without policies")
	}
	read := readScope(authz)
	if read(hallmark.Identity{Issuer: "https://elsewhere.example", Subject: "x"}) != nil {
		t.Error("an identity no rule matches may read")
	}
	can := read(hallmark.Identity{Issuer: config.DevIssuer, Subject: "someone"})
	if can == nil || !can(config.DevRegistry+"/team/app") || can("registry.example.com/team/app") {
		t.Error("the dev rules' read scope is wrong")
	}
}

func get(h http.Handler, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w
}

func TestUILogin(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	l := config.UILoginConfig{Issuer: config.DevIssuer, ClientID: config.DevAudience, RedirectURL: "http://127.0.0.1:7433/ui/callback", SessionTTL: config.Duration(time.Hour)}
	login, err := uiLogin(l)
	if err != nil || login.SessionKey != nil || login.ClientSecret != "" || login.SessionTTL != time.Hour {
		t.Fatalf("no files: %+v, %v", login, err)
	}
	l.ClientSecretFile = write("secret", "s3cret\n")
	l.SessionKeyFile = write("key", strings.Repeat("k", 40))
	if login, err = uiLogin(l); err != nil || login.ClientSecret != "s3cret" || len(login.SessionKey) != 32 {
		t.Fatalf("with files: secret %q, key %d bytes, %v", login.ClientSecret, len(login.SessionKey), err)
	}
	l.SessionKeyFile = write("short", "short")
	if _, err := uiLogin(l); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("short key: %v", err)
	}
	l.SessionKeyFile = filepath.Join(dir, "missing")
	if _, err := uiLogin(l); err == nil {
		t.Error("missing key file accepted")
	}
}
