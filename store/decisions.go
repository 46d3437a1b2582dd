package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// RecordDecisions appends verification and admission decisions to the
// audit log in one transaction.
func (s *DB) RecordDecisions(ctx context.Context, ds []Decision) error {
	if len(ds) == 0 {
		return nil
	}
	events := make([]Event, 0, len(ds))
	for _, d := range ds {
		if d.Kind != KindVerify && d.Kind != KindAdmission {
			return fmt.Errorf("record decisions: kind %q is not a decision", d.Kind)
		}
		events = append(events, decisionEvent(d))
	}
	if err := s.tx(ctx, func(tx *sql.Tx) error { return s.appendEvents(ctx, tx, events) }); err != nil {
		return fmt.Errorf("record %d decisions: %w", len(ds), err)
	}
	return nil
}

// DecisionDetail is the Detail of a verify or admission audit record.
type DecisionDetail struct {
	Ref         string   `json:"ref,omitempty"`
	Namespace   string   `json:"namespace,omitempty"`
	Object      string   `json:"object,omitempty"`
	Policy      string   `json:"policy,omitempty"`
	FailedRules []string `json:"failedRules,omitempty"`
	Reasons     []string `json:"reasons,omitempty"`
	Cached      bool     `json:"cached,omitempty"`
}

func decisionEvent(d Decision) Event {
	detail, _ := json.Marshal(DecisionDetail{
		Ref: d.Ref, Namespace: d.Namespace, Object: d.Object, Policy: d.Policy,
		FailedRules: d.FailedRules, Reasons: d.Reasons, Cached: d.Cached,
	})
	outcome := OutcomeDenied
	if d.Allowed {
		outcome = OutcomeAllowed
	}
	subject := d.Ref
	if d.Object != "" {
		subject = d.Namespace + "/" + d.Object
	}
	return Event{
		At: d.At, Kind: d.Kind, Actor: d.Caller, Repository: d.Repository, Digest: d.Digest,
		Subject: subject, Outcome: outcome, Detail: detail,
	}
}
