package main

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/server"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/ui"
)

// withUI serves the web view at /ui/ next to the API when the config
// turns it on: it authenticates as the API does and reads with
// QueryService's read scope.
func withUI(cfg config.Config, log *slog.Logger, api http.Handler, authn *server.Authenticator, authz *server.Authorizer, db *store.DB) (http.Handler, error) {
	if !cfg.UI.Enabled {
		return api, nil
	}
	opts := []ui.Option{ui.WithLogger(log)}
	if l := cfg.UI.Login; l.Issuer != "" {
		login, err := uiLogin(l)
		if err != nil {
			return nil, err
		}
		opts = append(opts, ui.WithLogin(login))
		if l.SessionKeyFile == "" {
			log.Warn("ui.login.sessionKeyFile is not set: web view sessions end when this process does, and replicas do not share them")
		}
	}
	h, err := ui.New(ui.Deps{
		Authenticate: authn.Authenticate,
		Reader:       readScope(authz),
		Store:        db,
	}, opts...)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(ui.Prefix, h)
	mux.Handle("/", api)
	log.Info("serving the web view", "path", ui.Prefix)
	return mux, nil
}

// uiLogin reads the sign-in's files: the client secret and the session
// key, which is the SHA-256 of the key file (at least 32 bytes).
func uiLogin(l config.UILoginConfig) (ui.Login, error) {
	login := ui.Login{
		Issuer: l.Issuer, ClientID: l.ClientID, RedirectURL: l.RedirectURL, SessionTTL: time.Duration(l.SessionTTL),
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
	}
	if f := l.ClientSecretFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return login, fmt.Errorf("login.clientSecretFile: %w", err)
		}
		login.ClientSecret = strings.TrimSpace(string(b))
	}
	if f := l.SessionKeyFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return login, fmt.Errorf("login.sessionKeyFile: %w", err)
		}
		if len(b) < ui.SessionKeyBytes {
			return login, fmt.Errorf("login.sessionKeyFile: %d bytes, want at least %d random bytes", len(b), ui.SessionKeyBytes)
		}
		key := sha256.Sum256(b)
		login.SessionKey = key[:]
	}
	return login, nil
}

// readScope is QueryService's read scope: nothing for an identity no rule
// matches, else the repositories a rule lets it read.
func readScope(authz *server.Authorizer) func(hallmark.Identity) func(string) bool {
	return func(id hallmark.Identity) func(string) bool {
		if len(authz.Readable(id)) == 0 {
			return nil
		}
		return func(repo string) bool { return authz.AuthorizeRead(id, repo) == nil }
	}
}
