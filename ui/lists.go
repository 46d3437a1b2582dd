package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

const (
	// defaultPageSize is the size of a page of a list.
	defaultPageSize = 50
	// maxFilterBytes bounds a filter of a list.
	maxFilterBytes = 256
)

// listPage is a page of a list, with its filters and the link to the
// next page.
type listPage[T any] struct {
	layout
	Filters url.Values
	Rows    []T
	// NextURL is the next page, FirstURL the first; empty when there is
	// none or this is it.
	NextURL, FirstURL string
}

// pager sets the links of a page from the store's next cursor.
func pager[T any](p *listPage[T], path string, q url.Values, next string) {
	if next != "" {
		nq := cloneValues(q)
		nq.Set("page", next)
		p.NextURL = withQuery(path, nq)
	}
	if q.Get("page") != "" {
		fq := cloneValues(q)
		fq.Del("page")
		p.FirstURL = withQuery(path, fq)
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, vs := range q {
		out[k] = slices.Clone(vs)
	}
	return out
}

// filters reads the list's known filters from the query, each at most
// maxFilterBytes, trimmed.
func filters(r *http.Request, keys ...string) (url.Values, bool) {
	in := r.URL.Query()
	out := url.Values{}
	for _, k := range keys {
		v := strings.TrimSpace(in.Get(k))
		if len(v) > maxFilterBytes {
			return nil, false
		}
		if v != "" {
			out.Set(k, v)
		}
	}
	return out, true
}

// imageRow is one image of the images list.
type imageRow struct {
	Repository string
	Digest     hallmark.Digest
	Tags       []string
	Created    string
	Bases      []store.Base
	// Advisory and Severity are the finding that put it on a list
	// filtered by advisory.
	Advisory, Severity string
}

// imagesPage is a page of the images list.
type imagesPage struct {
	listPage[imageRow]
	// StaleFilter offers the stale filter; Unresolved are the base
	// references it could not resolve.
	StaleFilter bool
	Unresolved  []string
}

// serveImages lists the images the viewer may read, filtered by
// repository, package, base, newest verdict or advisory (which lists the
// images of its open findings, by repository only).
func (h *handler) serveImages(w http.ResponseWriter, r *http.Request, v viewer) {
	f, ok := filters(r, "repository", "package", "base", "advisory", "verdict", "stale", "page")
	if !ok {
		h.fail(w, r, http.StatusBadRequest, "A filter is too long.")
		return
	}
	p := &imagesPage{listPage: listPage[imageRow]{layout: frame("Images", v), Filters: f}, StaleFilter: h.deps.Stale != nil}
	page := store.Page{Limit: h.opts.pageSize, Cursor: f.Get("page")}
	var next string
	if adv := f.Get("advisory"); adv != "" {
		q := store.FindingQuery{Readable: v.Can, Advisory: adv, Page: page}
		fs, n, err := h.deps.Store.Findings(r.Context(), q)
		if err != nil {
			h.failErr(w, r, err)
			return
		}
		next = n
		for _, fd := range fs {
			if rp := f.Get("repository"); rp != "" && rp != fd.Repository {
				continue
			}
			p.Rows = append(p.Rows, imageRow{Repository: fd.Repository, Digest: fd.Digest, Tags: fd.Tags, Advisory: fd.Advisory, Severity: fd.Severity})
		}
	} else {
		q := store.ImageQuery{Readable: v.Can, Repository: f.Get("repository"), Verdict: f.Get("verdict"), Page: page}
		if pkg := f.Get("package"); pkg != "" {
			pq, err := store.ParsePackageFilter(pkg)
			if err != nil {
				h.fail(w, r, http.StatusBadRequest, "The package filter is not a name, name@version or package URL.")
				return
			}
			q.Package = &pq
		}
		if b := f.Get("base"); b != "" {
			var err error
			if q.BaseDigest, q.BaseRef, err = store.ParseBaseFilter(b); err != nil {
				h.fail(w, r, http.StatusBadRequest, "The base filter is not an image reference or a digest.")
				return
			}
		}
		if f.Get("stale") != "" && h.deps.Stale != nil {
			moved, unresolved, err := h.deps.Stale(r.Context(), v.Can)
			if err != nil {
				h.failErr(w, r, err)
				return
			}
			p.Unresolved = unresolved
			if len(moved) == 0 { // no base moved: nothing is stale
				pager(&p.listPage, Prefix+"images", f, "")
				h.render(w, r, http.StatusOK, "images", p)
				return
			}
			q.Stale = moved
		}
		images, n, err := h.deps.Store.Images(r.Context(), q)
		if err != nil {
			h.failErr(w, r, err)
			return
		}
		next = n
		for _, im := range images {
			p.Rows = append(p.Rows, imageRow{Repository: im.Repository, Digest: im.Digest, Tags: im.Tags, Created: when(im.Created), Bases: im.Bases})
		}
	}
	pager(&p.listPage, Prefix+"images", f, next)
	h.render(w, r, http.StatusOK, "images", p)
}

// serveBuilds lists the builds of repositories the viewer may read,
// newest first.
func (h *handler) serveBuilds(w http.ResponseWriter, r *http.Request, v viewer) {
	f, ok := filters(r, "repository", "subject", "outcome", "page")
	if !ok {
		h.fail(w, r, http.StatusBadRequest, "A filter is too long.")
		return
	}
	builds, next, err := h.deps.Store.Builds(r.Context(), store.BuildQuery{
		Readable: v.Can, Repository: f.Get("repository"), Subject: f.Get("subject"), Outcome: f.Get("outcome"),
		Page: store.Page{Limit: h.opts.pageSize, Cursor: f.Get("page")},
	})
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	now := h.opts.now()
	p := &listPage[buildRow]{layout: frame("Builds", v), Filters: f}
	for _, b := range builds {
		row := rowOf(b, now)
		p.Rows = append(p.Rows, row)
		p.Live = p.Live || row.Running
	}
	pager(p, Prefix+"builds", f, next)
	h.render(w, r, http.StatusOK, "builds", p)
}

// serveAudit lists the audit records of repositories the viewer may
// read, oldest first.
func (h *handler) serveAudit(w http.ResponseWriter, r *http.Request, v viewer) {
	f, ok := filters(r, "repository", "kind", "page")
	if !ok {
		h.fail(w, r, http.StatusBadRequest, "A filter is too long.")
		return
	}
	q := store.AuditQuery{Readable: v.Can, Repository: f.Get("repository"), Page: store.Page{Limit: h.opts.pageSize, Cursor: f.Get("page")}}
	if k := f.Get("kind"); k != "" {
		q.Kinds = []string{k}
	}
	events, next, err := h.deps.Store.Audit(r.Context(), q)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	p := &listPage[store.Event]{layout: frame("Audit log", v), Filters: f, Rows: events}
	pager(p, Prefix+"audit", f, next)
	h.render(w, r, http.StatusOK, "audit", p)
}
