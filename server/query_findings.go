package server

import (
	"context"
	"encoding/json"
	"fmt"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/store"
)

// maxAdvisoryBytes bounds an advisory id filter.
const maxAdvisoryBytes = 128

// ListFindings lists the vulnerability findings the re-scans recorded on
// images the caller may read.
func (h *queryService) ListFindings(ctx context.Context, req *connect.Request[hallmarkv1.ListFindingsRequest]) (*connect.Response[hallmarkv1.ListFindingsResponse], error) {
	resp, err := h.listFindings(ctx, req.Msg)
	if err != nil {
		return nil, connectError(ctx, h.s.log, err)
	}
	return connect.NewResponse(resp), nil
}

func (h *queryService) listFindings(ctx context.Context, m *hallmarkv1.ListFindingsRequest) (*hallmarkv1.ListFindingsResponse, error) {
	if err := noUnknownFields(m); err != nil {
		return nil, err
	}
	var (
		q   store.FindingQuery
		err error
	)
	if q.Page, err = page(m.GetPageSize(), m.GetPageToken()); err != nil {
		return nil, err
	}
	if err := checkWord("advisory", m.GetAdvisory(), maxAdvisoryBytes); err != nil {
		return nil, err
	}
	q.Advisory, q.Resolved = m.GetAdvisory(), m.GetIncludeResolved()
	if q.Readable, err = h.reader(ctx); err != nil {
		return nil, err
	}
	st, ok := h.s.store.(FindingStore)
	if !ok {
		return nil, fmt.Errorf("%w: this gateway's store keeps no vulnerability findings", hallmark.ErrUnavailable)
	}
	if m.GetImage() != "" {
		if q.Repository, q.Digest, _, err = h.resolveImage(ctx, "image", m.GetImage(), q.Readable); err != nil {
			return nil, err
		}
	}
	resp := &hallmarkv1.ListFindingsResponse{}
	if db := h.s.vulnDB(); db != nil {
		resp.Advisories = int64(db.Len())
		resp.DatabaseUpdated = timestamp(db.NewestModified())
	}
	if w := h.s.watch; w != nil {
		resp.ScannedAt = timestamp(w.scannedAt())
	}
	findings, next, err := st.Findings(ctx, q)
	if err != nil {
		return nil, err
	}
	resp.NextPageToken = next
	for _, f := range findings {
		fm, err := findingMsg(f)
		if err != nil {
			return nil, err
		}
		resp.Findings = append(resp.Findings, fm)
	}
	return resp, nil
}

// findingMsg converts a recorded finding, whose detail is a
// findingDetail.
func findingMsg(f store.Finding) (*hallmarkv1.Finding, error) {
	var d findingDetail
	if err := json.Unmarshal(f.Detail, &d); err != nil {
		return nil, fmt.Errorf("recorded finding %s on %s@%s: %w", f.Advisory, f.Repository, f.Digest, err)
	}
	m := &hallmarkv1.Finding{
		Repository: f.Repository, Digest: string(f.Digest), Tags: f.Tags, Advisory: f.Advisory, Aliases: f.Aliases, Summary: d.Summary,
		Package: f.PURL, Installed: d.Installed, Fixed: d.Fixed, Severity: f.Severity,
		Score: d.Severity.Score, Vector: d.Severity.Vector, SeveritySource: d.Severity.Source,
		FirstSeen: timestamp(f.FirstSeen), Resolved: timestamp(f.Resolved),
	}
	if e := d.Excepted; e != nil {
		m.Excepted = &hallmarkv1.FindingException{Reason: e.Reason, Expires: timestamp(e.Expires), By: e.By, Source: e.Source}
	}
	return m, nil
}
