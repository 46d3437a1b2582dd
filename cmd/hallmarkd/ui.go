package main

import (
	"context"
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
	"github.com/hallmark-dev/hallmark/verify"
)

// withUI serves the web view at /ui/ next to the API when the config
// turns it on; deps authenticate as the API does (the API's
// authenticator) and read with QueryService's read scope (readScope).
func withUI(cfg config.Config, log *slog.Logger, api http.Handler, deps ui.Deps) (http.Handler, error) {
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
	h, err := ui.New(deps, opts...)
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

// reverifier verifies an image again under every policy of e, records the
// decisions as VerifyService does, and returns the verdicts for the web
// view; nil without policies. The web view checks the read scope first.
func reverifier(e *verify.Evaluator, rec *store.Recorder) func(context.Context, hallmark.Identity, string, hallmark.Digest) ([]ui.Verdict, error) {
	if e == nil {
		return nil
	}
	return func(ctx context.Context, id hallmark.Identity, repo string, d hallmark.Digest) ([]ui.Verdict, error) {
		names, _ := e.Policies()
		ref := repo + "@" + string(d)
		out := make([]ui.Verdict, 0, len(names))
		for _, n := range names {
			v, err := e.Verify(ctx, verify.Request{Ref: ref, Policy: n, Fresh: true})
			if err != nil {
				return nil, fmt.Errorf("verify %s under %s: %w", ref, n, err)
			}
			if rec != nil {
				rec.Record(server.VerifyDecision(store.KindVerify, strings.TrimSpace(id.Issuer+" "+id.Subject), ref, v))
			}
			uv := ui.Verdict{Policy: v.Policy, Allowed: v.Allowed, Cached: v.Cached, Reasons: v.Reasons}
			for _, r := range v.Rules {
				uv.Rules = append(uv.Rules, ui.RuleOutcome{Name: r.Name, Passed: r.Passed, Message: r.Message})
			}
			out = append(out, uv)
		}
		return out, nil
	}
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
