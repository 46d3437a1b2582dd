package main

import (
	"log/slog"
	"net/http"

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
	h, err := ui.New(ui.Deps{
		Authenticate: authn.Authenticate,
		Reader:       readScope(authz),
		Store:        db,
	}, ui.WithLogger(log))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(ui.Prefix, h)
	mux.Handle("/", api)
	log.Info("serving the web view", "path", ui.Prefix)
	return mux, nil
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
