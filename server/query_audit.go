package server

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/store"
)

// ListAudit lists the audit records of repositories the caller may read,
// filtered.
func (h *queryService) ListAudit(ctx context.Context, req *connect.Request[hallmarkv1.ListAuditRequest]) (*connect.Response[hallmarkv1.ListAuditResponse], error) {
	resp, err := h.listAudit(ctx, req.Msg)
	if err != nil {
		return nil, connectError(ctx, h.s.log, err)
	}
	return connect.NewResponse(resp), nil
}

func (h *queryService) listAudit(ctx context.Context, m *hallmarkv1.ListAuditRequest) (*hallmarkv1.ListAuditResponse, error) {
	var q store.AuditQuery
	var err error
	if err = noUnknownFields(m); err != nil {
		return nil, err
	}
	if q.Page, err = page(m.GetPageSize(), m.GetPageToken()); err != nil {
		return nil, err
	}
	if q.Kinds, err = kindsFilter(m.GetKinds()); err != nil {
		return nil, err
	}
	if q.Since, err = timeFilter("since", m.GetSince()); err != nil {
		return nil, err
	}
	if q.Until, err = timeFilter("until", m.GetUntil()); err != nil {
		return nil, err
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return nil, invalid("until", "not after since")
	}
	if q.Repository, err = repositoryFilter("repository", m.GetRepository()); err != nil {
		return nil, err
	}
	if q.Digest, err = digestFilter("digest", m.GetDigest()); err != nil {
		return nil, err
	}
	q.UnattestedPushes = m.GetUnattestedPushes()
	if q.Readable, err = h.reader(ctx); err != nil {
		return nil, err
	}
	events, next, err := h.s.store.Audit(ctx, q)
	if err != nil {
		return nil, err
	}
	return &hallmarkv1.ListAuditResponse{Events: eventsMsg(events), NextPageToken: next}, nil
}

// VerifyAudit checks the audit log's hash chains for any caller that some
// rule lets push somewhere (Authorizer.AuthorizeAny): the answer holds
// counts and problem lines, no records.
func (h *queryService) VerifyAudit(ctx context.Context, req *connect.Request[hallmarkv1.VerifyAuditRequest]) (*connect.Response[hallmarkv1.VerifyAuditResponse], error) {
	s := h.s
	id, ok := IdentityFromContext(ctx)
	if !ok {
		return nil, connectError(ctx, s.log, fmt.Errorf("%w: no verified identity", hallmark.ErrUnauthenticated))
	}
	if err := noUnknownFields(req.Msg); err != nil {
		return nil, connectError(ctx, s.log, err)
	}
	if err := s.authz.AuthorizeAny(id); err != nil {
		return nil, connectError(ctx, s.log, fmt.Errorf("verify audit log: %w", err))
	}
	check, err := s.store.VerifyAudit(ctx)
	if err != nil {
		return nil, connectError(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "audit log verified", "records", check.Records, "problems", len(check.Problems))
	return connect.NewResponse(&hallmarkv1.VerifyAuditResponse{Check: auditCheckMsg(check)}), nil
}
