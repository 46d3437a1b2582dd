package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
)

// viewer is the verified caller of a page and its read scope.
type viewer struct {
	ID  hallmark.Identity
	Can func(repository string) bool
	// Session says the viewer signed in (a session cookie), rather than
	// sending a bearer token.
	Session bool
}

// pageFunc serves one page to a verified viewer.
type pageFunc func(w http.ResponseWriter, r *http.Request, v viewer)

// authed verifies the caller and its read scope before a page: a bearer
// token (the API's), else a session cookie. Without either, a browser is
// sent to sign in when sign-in is configured; otherwise, or with bad
// credentials, it gets the 401 page. A caller that may read nothing gets
// the 403 page, as QueryService refuses it.
func (h *handler) authed(f pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, session, err := h.identity(r.Context(), r)
		if err != nil && h.login != nil && r.Header.Get("Authorization") == "" {
			if !errors.Is(err, errNoCredentials) {
				h.clearCookie(w, sessionCookie)
			}
			http.Redirect(w, r, Prefix+"login?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusSeeOther)
			return
		}
		if err != nil {
			// The error may quote claims, never the token; it is logged,
			// not shown.
			h.opts.log.InfoContext(r.Context(), "ui: caller not authenticated", "error", err)
			w.Header().Set("WWW-Authenticate", `Bearer realm="hallmark"`)
			h.fail(w, r, http.StatusUnauthorized, "Sign in to see this page: send an API token (Authorization: Bearer).")
			return
		}
		can := h.deps.Reader(id)
		if can == nil {
			h.forbidden(w, r)
			return
		}
		f(w, r, viewer{ID: id, Can: can, Session: session})
	})
}

// errNoCredentials says the request carries no credentials.
var errNoCredentials = errors.New("no credentials")

// identity verifies the request's bearer token, or else its session
// cookie (session is then true).
func (h *handler) identity(ctx context.Context, r *http.Request) (id hallmark.Identity, session bool, err error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		id, err = h.sessionIdentity(r)
		return id, err == nil, err
	}
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return hallmark.Identity{}, false, errors.New("authorization header is not a bearer token")
	}
	id, err = h.deps.Authenticate(ctx, strings.TrimSpace(token))
	return id, false, err
}

// forbidden is the one answer for a repository the viewer may not read,
// whether the image exists or not.
func (h *handler) forbidden(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, http.StatusForbidden, "Your identity may not read this repository, or there is nothing here it may read.")
}
