package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

const (
	// maxRefBytes bounds an image reference in a path.
	maxRefBytes = 512
	// maxBaseChain bounds the runtime bases followed down from an image.
	maxBaseChain = 8
	// maxBuiltOn bounds the images built on an image that its page lists.
	maxBuiltOn = 50
)

// imagePage is the page of one image.
type imagePage struct {
	layout
	Image      store.Image
	Build      *store.Build
	Builds     []store.Build
	Bases      []baseView
	Chain      []baseView
	BuiltOn    []store.Image
	Attest     []store.Attestation
	Packages   packageTable
	Findings   []findingView
	Verdicts   []decisionView
	Admissions []decisionView
	Events     []store.Event
	// CycloneDXURL downloads the package index as CycloneDX.
	CycloneDXURL string
	// Graph is the provenance graph.
	Graph graph
	// Reverify offers the re-verify button.
	Reverify bool
	// BundleURL is the image's URL to which "?bundle=<referrer>" is
	// added, or empty when bundles are not offered.
	BundleURL string
}

// baseView is a base image and whether the viewer may open its page.
type baseView struct {
	store.Base
	URL string
}

// serveImage serves /ui/images/<registry/repository>@sha256:… and
// redirects /ui/images/<registry/repository>:<tag> there.
func (h *handler) serveImage(w http.ResponseWriter, r *http.Request, v viewer) {
	raw := r.PathValue("ref")
	if len(raw) > maxRefBytes {
		h.fail(w, r, http.StatusBadRequest, "The image reference is too long.")
		return
	}
	ref, err := name.ParseReference(raw, name.StrictValidation)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "Not an image reference: want registry/repository@sha256:<hex> or registry/repository:tag.")
		return
	}
	repo := ref.Context().Name()
	if !v.Can(repo) {
		h.forbidden(w, r)
		return
	}
	ctx := r.Context()
	var d hallmark.Digest
	switch ref := ref.(type) {
	case name.Tag:
		if d, err = h.deps.Store.Tag(ctx, repo, ref.TagStr()); err != nil {
			h.failErr(w, r, err)
			return
		}
		target := imageURL(repo, d)
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	case name.Digest:
		d = hallmark.Digest(ref.DigestStr())
	}
	if r.URL.Query().Get("format") == "cyclonedx" {
		h.serveCycloneDX(w, r, repo, d)
		return
	}
	if r.URL.Query().Get("format") == "spdx" && h.deps.Bundle != nil {
		h.serveSPDX(w, r, repo, d)
		return
	}
	if b := r.URL.Query().Get("bundle"); b != "" && h.deps.Bundle != nil {
		h.serveBundle(w, r, repo, d, b)
		return
	}
	p, err := h.imagePage(ctx, v, repo, d, r.URL.Query())
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	p.layout = frame(p.Title, v)
	h.render(w, r, http.StatusOK, "image", p)
}

// imagePage reads what the store knows of one image.
func (h *handler) imagePage(ctx context.Context, v viewer, repo string, d hallmark.Digest, q url.Values) (*imagePage, error) {
	st := h.deps.Store
	rec, err := st.Image(ctx, repo, d)
	if err != nil {
		return nil, err
	}
	p := &imagePage{
		layout: layout{Title: repo + "@" + shortDigest(d)}, Image: rec.Image, Builds: rec.Builds, Attest: rec.Attestations,
		CycloneDXURL: imageURL(repo, d) + "?format=cyclonedx",
	}
	for i := range rec.Builds {
		if rec.Builds[i].Outcome == store.OutcomeSucceeded {
			p.Build = &rec.Builds[i]
			break
		}
	}
	var runtime *store.Base
	for _, b := range rec.Bases {
		p.Bases = append(p.Bases, h.baseView(v, b))
		if b.Runtime {
			runtime = &b
		}
	}
	if p.Chain, err = h.chain(ctx, v, runtime); err != nil {
		return nil, err
	}
	if p.BuiltOn, _, err = st.Images(ctx, store.ImageQuery{Readable: v.Can, BaseDigest: d, Page: store.Page{Limit: maxBuiltOn}}); err != nil {
		return nil, err
	}
	purls, err := st.ImagePackages(ctx, repo, d)
	if err != nil {
		return nil, err
	}
	var fromBase map[string]bool
	if runtime != nil && v.Can(runtime.Repository) {
		base, err := st.ImagePackages(ctx, runtime.Repository, runtime.Digest)
		if err != nil {
			return nil, err
		}
		fromBase = make(map[string]bool, len(base))
		for _, p := range base {
			fromBase[p] = true
		}
	}
	p.Packages = newPackageTable(imageURL(repo, d), purls, fromBase, q)
	if p.Findings, err = h.findings(ctx, v, repo, d); err != nil {
		return nil, err
	}
	p.Verdicts, p.Admissions, p.Events = decisions(rec.Events)
	p.Graph = newGraph(p)
	p.Reverify = h.deps.Reverify != nil
	if h.deps.Bundle != nil {
		p.BundleURL = imageURL(repo, d)
	}
	return p, nil
}

// baseView links a base to its page if the viewer may read it.
func (h *handler) baseView(v viewer, b store.Base) baseView {
	bv := baseView{Base: b}
	if b.Repository != "" && b.Digest != "" && v.Can(b.Repository) {
		bv.URL = imageURL(b.Repository, b.Digest)
	}
	return bv
}

// chain follows the runtime base down, through the bases the gateway
// recorded and the viewer may read, to the first it knows nothing of.
func (h *handler) chain(ctx context.Context, v viewer, b *store.Base) ([]baseView, error) {
	var out []baseView
	for b != nil && len(out) < maxBaseChain {
		out = append(out, h.baseView(v, *b))
		if !v.Can(b.Repository) {
			break
		}
		rec, err := h.deps.Store.Image(ctx, b.Repository, b.Digest)
		if errors.Is(err, hallmark.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		b = nil
		for _, next := range rec.Bases {
			if next.Runtime {
				b = &next
			}
		}
	}
	return out, nil
}

// isKind reports whether e is of one of kinds.
func isKind(e store.Event, kinds ...string) bool {
	for _, k := range kinds {
		if strings.EqualFold(e.Kind, k) {
			return true
		}
	}
	return false
}
