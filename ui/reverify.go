package ui

import (
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Verdict is a fresh verdict on an image under one policy.
type Verdict struct {
	Policy  string
	Allowed bool
	Cached  bool
	// Rules are every rule's outcome; Reasons why it was denied.
	Rules   []RuleOutcome
	Reasons []string
}

// RuleOutcome is one rule of a policy, evaluated.
type RuleOutcome struct {
	Name    string
	Passed  bool
	Message string
}

// reverifyPage shows the verdicts of a re-verification.
type reverifyPage struct {
	layout
	Repository string
	Digest     hallmark.Digest
	Verdicts   []Verdict
}

// serveReverify verifies an image again under every policy (POST, from a
// page of the web view: the CSRF guard refuses others) and shows the
// verdicts, every rule's outcome included.
func (h *handler) serveReverify(w http.ResponseWriter, r *http.Request, v viewer) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	ref, err := name.NewDigest(r.PostFormValue("image"), name.StrictValidation)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "Not an image reference: want registry/repository@sha256:<hex>.")
		return
	}
	repo, d := ref.Context().Name(), hallmark.Digest(ref.DigestStr())
	if !v.Can(repo) {
		h.forbidden(w, r)
		return
	}
	verdicts, err := h.deps.Reverify(r.Context(), v.ID, repo, d)
	if err != nil {
		h.opts.log.WarnContext(r.Context(), "ui: re-verify", "image", repo+"@"+string(d), "error", err)
		h.fail(w, r, http.StatusBadGateway, "The image could not be verified now (the registry or the trusted root may be unreachable); try again later.")
		return
	}
	h.opts.log.InfoContext(r.Context(), "ui: re-verified", "image", repo+"@"+string(d), "subject", v.ID.Subject)
	h.render(w, r, http.StatusOK, "reverify", reverifyPage{layout: frame("Re-verified "+repo, v), Repository: repo, Digest: d, Verdicts: verdicts})
}
