package ui

import (
	"net/http"
	"slices"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

// serveBundle sends the Sigstore bundle of one of an image's recorded
// attestations, named by its referrer manifest's digest, as Deps.Bundle
// fetches it from the registry. Only referrers the store recorded for the
// image are fetched.
func (h *handler) serveBundle(w http.ResponseWriter, r *http.Request, repo string, d hallmark.Digest, referrer string) {
	ref, err := hallmark.ParseDigest(referrer)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "The bundle is named by its referrer's digest, sha256:<hex>.")
		return
	}
	rec, err := h.deps.Store.Image(r.Context(), repo, d)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	if !slices.ContainsFunc(rec.Attestations, func(a store.Attestation) bool { return a.Digest == ref }) {
		h.fail(w, r, http.StatusNotFound, "The gateway recorded no such attestation of this image.")
		return
	}
	b, err := h.deps.Bundle(r.Context(), repo, ref)
	if err != nil {
		h.opts.log.WarnContext(r.Context(), "ui: fetch bundle", "image", repo+"@"+string(d), "referrer", string(ref), "error", err)
		h.fail(w, r, http.StatusBadGateway, "The bundle could not be read from the registry now; try again later.")
		return
	}
	w.Header().Set("Content-Type", hallmark.MediaTypeBundleV03)
	w.Header().Set("Content-Disposition", `attachment; filename="`+ref.Hex()[:12]+`.sigstore.json"`)
	_, _ = w.Write(b)
}
