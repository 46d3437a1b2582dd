package ui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/*
var staticFS embed.FS

// Prefix is the path the handler is mounted at.
const Prefix = "/ui/"

// Store is what the pages read: a subset of *store.DB.
type Store interface {
	Image(ctx context.Context, repository string, digest hallmark.Digest) (*store.ImageRecord, error)
	Tag(ctx context.Context, repository, tag string) (hallmark.Digest, error)
	Images(ctx context.Context, q store.ImageQuery) ([]store.Image, string, error)
	ImagePackages(ctx context.Context, repository string, digest hallmark.Digest) ([]string, error)
	Builds(ctx context.Context, q store.BuildQuery) ([]store.Build, string, error)
	BuildsByID(ctx context.Context, ids []string, canRead func(string) bool) ([]store.Build, error)
	Audit(ctx context.Context, q store.AuditQuery) ([]store.Event, string, error)
	Findings(ctx context.Context, q store.FindingQuery) ([]store.Finding, string, error)
}

var _ Store = (*store.DB)(nil)

// Deps are what the handler needs from the gateway.
type Deps struct {
	// Authenticate verifies an API bearer token (the API's authenticator).
	Authenticate func(ctx context.Context, token string) (hallmark.Identity, error)
	// Reader returns the read scope of an identity, as QueryService
	// computes it: nil when the identity may read nothing.
	Reader func(id hallmark.Identity) func(repository string) bool
	// Store is the gateway's store.
	Store Store
	// Reverify, if set, verifies an image again under every policy for
	// id, records the decisions as VerifyService does, and returns the
	// verdicts; image pages then offer a re-verify button. The handler
	// checks that id may read the repository first.
	Reverify func(ctx context.Context, id hallmark.Identity, repository string, d hallmark.Digest) ([]Verdict, error)
	// Bundle, if set, reads the Sigstore bundle an attestation's referrer
	// manifest carries from the registry; image pages then offer each
	// recorded attestation's bundle for download.
	Bundle func(ctx context.Context, repository string, referrer hallmark.Digest) ([]byte, error)
	// Stale, if set, resolves the base tags of the images readable may
	// read and returns those that moved (store.ImageQuery.Stale) and the
	// references it could not resolve; the images list then filters
	// stale images, as `hallmark images --stale` does.
	Stale func(ctx context.Context, readable func(string) bool) (moved []store.Base, unresolved []string, err error)
}

// Option configures the handler.
type Option func(*options) error

type options struct {
	log      *slog.Logger
	pageSize int
	login    *loginState
	// now is the clock of sessions and sign-ins; tests move it.
	now func() time.Time
}

// WithPageSize sets how many rows a page of a list (images, builds, audit
// records) holds, from 1 to store.MaxLimit. The default is 50.
func WithPageSize(n int) Option {
	return func(o *options) error {
		if n < 1 || n > store.MaxLimit {
			return fmt.Errorf("page size %d: want 1 to %d", n, store.MaxLimit)
		}
		o.pageSize = n
		return nil
	}
}

// WithLogger sets the logger. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("logger is nil")
		}
		o.log = l
		return nil
	}
}

// handler serves the web view.
type handler struct {
	deps  Deps
	opts  options
	pages map[string]*template.Template
	mux   *http.ServeMux
	login *loginState
}

// New returns the web view's handler, to be mounted at Prefix.
func New(deps Deps, opts ...Option) (http.Handler, error) {
	o := options{log: slog.New(slog.DiscardHandler), pageSize: defaultPageSize, now: time.Now}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("ui: %w", err)
		}
	}
	switch {
	case deps.Authenticate == nil:
		return nil, errors.New("ui: no authenticator")
	case deps.Reader == nil:
		return nil, errors.New("ui: no read scope")
	case deps.Store == nil:
		return nil, errors.New("ui: no store")
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	h := &handler{deps: deps, opts: o, pages: pages, mux: http.NewServeMux(), login: o.login}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("ui: %w", err)
	}
	h.mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	h.mux.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/images", http.StatusSeeOther)
	})
	h.mux.Handle("GET /ui/images", h.authed(h.serveImages))
	h.mux.Handle("GET /ui/images/{ref...}", h.authed(h.serveImage))
	h.mux.Handle("GET /ui/builds", h.authed(h.serveBuilds))
	h.mux.Handle("GET /ui/builds/status", h.authed(h.serveBuildStatus))
	h.mux.Handle("GET /ui/audit", h.authed(h.serveAudit))
	if deps.Reverify != nil {
		h.mux.Handle("POST /ui/reverify", h.authed(h.serveReverify))
	}
	if h.login != nil {
		h.mux.HandleFunc("GET /ui/login", h.serveLogin)
		h.mux.HandleFunc("GET /ui/callback", h.serveCallback)
		h.mux.HandleFunc("POST /ui/logout", h.serveLogout)
	}
	return &root{h: h, next: secure(h.mux)}, nil
}

// root serves the handler's mux behind its security headers.
type root struct {
	h    *handler
	next http.Handler
}

func (r *root) ServeHTTP(w http.ResponseWriter, req *http.Request) { r.next.ServeHTTP(w, req) }

// Unwrap returns the handler, for tests of its parts.
func (r *root) Unwrap() *handler { return r.h }

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	names := []string{"image", "images", "builds", "audit", "error", "reverify"}
	out := make(map[string]*template.Template, len(names))
	for _, n := range names {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("ui: parse template %s: %w", n, err)
		}
		out[n] = t
	}
	return out, nil
}
