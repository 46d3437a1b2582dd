package ui

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

// funcs are the templates' helpers. None returns template.HTML: every
// value a template writes is escaped.
var funcs = template.FuncMap{
	"short":    shortDigest,
	"imageURL": imageURL,
	"when":     when,
	"join":     strings.Join,
	"pkgName":  pkgName,
	"outcomes": func() []string { return store.BuildOutcomes },
	"kinds": func() []string {
		return []string{store.KindBuild, store.KindBase, store.KindImport, store.KindTag, store.KindVerify, store.KindAdmission,
			store.KindPush, store.KindPull, store.KindDelete, store.KindVulnDB}
	},
	"dur": func(a, b time.Time) string {
		if a.IsZero() || b.IsZero() {
			return ""
		}
		return b.Sub(a).Round(time.Second).String()
	},
}

// shortDigest is "sha256:" and the first 12 hex digits.
func shortDigest(d hallmark.Digest) string {
	s := string(d)
	if len(s) > len("sha256:")+12 {
		return s[:len("sha256:")+12]
	}
	return s
}

// imageURL is the path of an image's page.
func imageURL(repository string, d hallmark.Digest) string {
	return Prefix + "images/" + repository + "@" + string(d)
}

// when formats a time in UTC, or "" for none.
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// layout is what every page's frame shows.
type layout struct {
	Title string
	// Viewer is "issuer subject" of the caller, or empty.
	Viewer string
	// SignOut offers to end the viewer's session.
	SignOut bool
	// Live loads the script that redraws running builds until they end
	// (without script, the page reloads itself).
	Live bool
}

// frame is the layout of a page shown to v.
func frame(title string, v viewer) layout {
	return layout{Title: title, Viewer: v.ID.Subject + " (" + v.ID.Issuer + ")", SignOut: v.Session}
}

// render writes a page whole, so that a template error never leaves half
// a page behind.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := h.pages[name].Execute(&buf, data); err != nil {
		h.opts.log.ErrorContext(r.Context(), "ui: render page", "page", name, "error", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage is the page of a refused or failed request.
type errorPage struct {
	layout
	Status  int
	Message string
	// SignIn offers to sign in.
	SignIn bool
}

// fail renders the error page.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.render(w, r, status, "error", errorPage{
		layout: layout{Title: http.StatusText(status)}, Status: status, Message: msg,
		SignIn: h.login != nil && (status == http.StatusUnauthorized || status == http.StatusBadRequest || status == http.StatusForbidden),
	})
}

// failErr renders the error page for an error of the store: a bad query
// (ErrInvalid) is the caller's, anything else is logged and not shown.
func (h *handler) failErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, hallmark.ErrInvalid):
		h.fail(w, r, http.StatusBadRequest, "The query is not valid: "+err.Error())
	case errors.Is(err, hallmark.ErrNotFound):
		h.fail(w, r, http.StatusNotFound, "The gateway recorded no such thing.")
	default:
		h.opts.log.ErrorContext(r.Context(), "ui: read store", "path", r.URL.Path, "error", err)
		h.fail(w, r, http.StatusInternalServerError, "The gateway could not read its store; try again later.")
	}
}

// withQuery is path with the query q, whose empty values are left out.
func withQuery(path string, q url.Values) string {
	clean := url.Values{}
	for k, vs := range q {
		for _, v := range vs {
			if v != "" {
				clean.Add(k, v)
			}
		}
	}
	if len(clean) == 0 {
		return path
	}
	return path + "?" + clean.Encode()
}
