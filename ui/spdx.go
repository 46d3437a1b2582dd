package ui

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	hallmark "github.com/hallmark-dev/hallmark"
)

// spdxOf reads the SPDX document out of the Sigstore bundle of an SBOM
// attestation: the predicate of the in-toto statement its DSSE envelope
// carries. It checks the statement's shape, not its signature: the
// gateway verified the bundle when it published it.
func spdxOf(bundle []byte) ([]byte, error) {
	var b struct {
		DSSE struct {
			PayloadType string `json:"payloadType"`
			Payload     string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	if b.DSSE.PayloadType != hallmark.PayloadTypeInToto {
		return nil, errors.New("read bundle: no in-toto DSSE envelope")
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSE.Payload)
	if err != nil {
		return nil, fmt.Errorf("read bundle payload: %w", err)
	}
	var st struct {
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("read statement: %w", err)
	}
	if st.PredicateType != hallmark.PredicateSPDX || len(st.Predicate) == 0 {
		return nil, fmt.Errorf("read statement: predicate type %q, want %s", hallmark.Clip(st.PredicateType, 100), hallmark.PredicateSPDX)
	}
	return st.Predicate, nil
}

// serveSPDX sends the SPDX SBOM of an image: the predicate of its
// recorded SBOM attestation, read from the registry (Deps.Bundle).
func (h *handler) serveSPDX(w http.ResponseWriter, r *http.Request, repo string, d hallmark.Digest) {
	rec, err := h.deps.Store.Image(r.Context(), repo, d)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	var ref hallmark.Digest
	for _, a := range rec.Attestations {
		if a.PredicateType == hallmark.PredicateSPDX {
			ref = a.Digest
		}
	}
	if ref == "" {
		h.fail(w, r, http.StatusNotFound, "The gateway recorded no SBOM attestation of this image.")
		return
	}
	b, err := h.deps.Bundle(r.Context(), repo, ref)
	if err == nil {
		b, err = spdxOf(b)
	}
	if err != nil {
		h.opts.log.WarnContext(r.Context(), "ui: read SPDX SBOM", "image", repo+"@"+string(d), "referrer", string(ref), "error", err)
		h.fail(w, r, http.StatusBadGateway, "The SBOM could not be read from the registry now; try again later.")
		return
	}
	w.Header().Set("Content-Type", "application/spdx+json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+d.Hex()[:12]+`.spdx.json"`)
	_, _ = w.Write(b)
}
