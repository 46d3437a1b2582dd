package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/hallmark-dev/hallmark/store"
)

// maxLiveBuilds bounds the builds one status request asks about: a page
// of the list at most.
const maxLiveBuilds = 100

// buildRow is one row of the builds list as the page shows it, and as
// GET /ui/builds/status sends it to the page's script while the build
// runs: the script only replaces text and links, so the row reads the
// same however it was last drawn.
type buildRow struct {
	ID      string `json:"id"`
	Running bool   `json:"running"`
	// Outcome is the outcome's class ("succeeded", "running"); Status the
	// cell's text: "failed: …", "running: building 5/9 · [2/3] RUN make".
	Outcome string `json:"outcome"`
	Status  string `json:"status"`
	// Image is the built image's text and, once it has a digest, ImageURL
	// its page.
	Image    string `json:"image"`
	ImageURL string `json:"imageURL,omitempty"`
	Took     string `json:"took"`
	Worker   string `json:"worker"`
	// b is the record, for the cells a running build does not change.
	b store.Build
}

// Build is the row's record, for the template.
func (r buildRow) Build() store.Build { return r.b }

// rowOf is how the list shows b at now.
func rowOf(b store.Build, now time.Time) buildRow {
	r := buildRow{ID: b.ID, Running: b.Outcome == store.OutcomeRunning, Outcome: b.Outcome, Status: b.Outcome, Image: b.Repository, Worker: b.Worker, b: b}
	if b.Error != "" {
		r.Status += ": " + b.Error
	}
	if b.Digest != "" {
		r.Image, r.ImageURL = b.Repository+"@"+shortDigest(b.Digest), imageURL(b.Repository, b.Digest)
	}
	end := b.Finished
	if r.Running {
		end = now
		if p := b.Progress; p != nil {
			r.Status += ": " + progressText(p)
		}
	}
	if !b.Started.IsZero() && !end.IsZero() {
		r.Took = end.Sub(b.Started).Round(time.Second).String()
	}
	return r
}

// progressText is "queued, 2 ahead" or "building 5/9 · [2/3] RUN make".
func progressText(p *store.Progress) string {
	s := p.Phase
	switch {
	case p.Queue > 0:
		s += fmt.Sprintf(", %d ahead", p.Queue)
	case p.Total > 0:
		s += fmt.Sprintf(" %d/%d", p.Done, p.Total)
	}
	if p.Step != "" {
		s += " · " + p.Step
	}
	return s
}

// serveBuildStatus sends the rows of the builds named by its id
// parameters that the viewer may read, for the builds list's script to
// redraw running builds until they end.
func (h *handler) serveBuildStatus(w http.ResponseWriter, r *http.Request, v viewer) {
	ids := r.URL.Query()["id"]
	if len(ids) == 0 || len(ids) > maxLiveBuilds {
		http.Error(w, fmt.Sprintf("name 1 to %d builds", maxLiveBuilds), http.StatusBadRequest)
		return
	}
	for _, id := range ids {
		if len(id) > maxFilterBytes {
			http.Error(w, "a build id is too long", http.StatusBadRequest)
			return
		}
	}
	builds, err := h.deps.Store.BuildsByID(r.Context(), ids, v.Can)
	if err != nil {
		h.opts.log.ErrorContext(r.Context(), "ui: build status", "error", err)
		http.Error(w, "the store could not be read", http.StatusServiceUnavailable)
		return
	}
	now := h.opts.now()
	rows := make([]buildRow, 0, len(builds))
	for _, b := range builds {
		rows = append(rows, rowOf(b, now))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rows)
}
