package ui

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/vuln"
)

// findingView is one open vulnerability finding of an image.
type findingView struct {
	store.Finding
	Summary   string
	Installed string
	Fixed     []string
	Excepted  *vuln.Exception
}

// findingDetail is the detail the gateway's re-scans record with a
// finding.
type findingDetail struct {
	vuln.Finding
	Excepted *vuln.Exception `json:"excepted,omitempty"`
}

// severityRank orders severities, most severe first.
var severityRank = map[string]int{"critical": 0, "high": 1, "medium": 2, "low": 3}

// findings reads the open findings of an image (at most a page of the
// store's largest size), most severe first.
func (h *handler) findings(ctx context.Context, v viewer, repo string, d hallmark.Digest) ([]findingView, error) {
	fs, _, err := h.deps.Store.Findings(ctx, store.FindingQuery{Readable: v.Can, Repository: repo, Digest: d, Page: store.Page{Limit: store.MaxLimit}})
	if err != nil {
		return nil, err
	}
	out := make([]findingView, 0, len(fs))
	for _, f := range fs {
		fv := findingView{Finding: f}
		var det findingDetail
		if json.Unmarshal(f.Detail, &det) == nil {
			fv.Summary, fv.Installed, fv.Fixed, fv.Excepted = det.Summary, det.Installed, det.Fixed, det.Excepted
		}
		out = append(out, fv)
	}
	slices.SortStableFunc(out, func(a, b findingView) int {
		ra, oka := severityRank[a.Severity]
		rb, okb := severityRank[b.Severity]
		if !oka {
			ra = len(severityRank)
		}
		if !okb {
			rb = len(severityRank)
		}
		return cmp.Or(cmp.Compare(ra, rb), cmp.Compare(a.Advisory, b.Advisory), cmp.Compare(a.PURL, b.PURL))
	})
	return out, nil
}

// decisionView is one verification or admission decision.
type decisionView struct {
	store.Event
	Detail store.DecisionDetail
	// Allowed is the verdict.
	Allowed bool
}

// decisions splits an image's audit records: the newest verdict of each
// policy, the admission decisions, and the other records (tags, builds,
// registry events).
func decisions(events []store.Event) (verdicts, admissions []decisionView, other []store.Event) {
	seen := map[string]bool{}
	for _, e := range events {
		if !isKind(e, store.KindVerify, store.KindAdmission) {
			other = append(other, e)
			continue
		}
		dv := decisionView{Event: e, Allowed: e.Outcome == store.OutcomeAllowed}
		_ = json.Unmarshal(e.Detail, &dv.Detail) // a record without detail shows its outcome alone
		if e.Kind == store.KindAdmission {
			admissions = append(admissions, dv)
			continue
		}
		if !seen[dv.Detail.Policy] { // events are newest first
			seen[dv.Detail.Policy] = true
			verdicts = append(verdicts, dv)
		}
	}
	return verdicts, admissions, other
}
