package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
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
	// Count and Last say the record stands for Count decisions made from
	// the record's time to Last, identical but for their objects, which
	// Objects lists when there are several (Merge).
	Count   int        `json:"count,omitempty"`
	Last    *time.Time `json:"last,omitempty"`
	Objects []string   `json:"objects,omitempty"`
}

func decisionEvent(d Decision) Event {
	dd := DecisionDetail{
		Ref: d.Ref, Namespace: d.Namespace, Object: d.Object, Policy: d.Policy,
		FailedRules: d.FailedRules, Reasons: d.Reasons, Cached: d.Cached,
	}
	if d.Count > 1 {
		last := d.Last.UTC().Truncate(time.Microsecond)
		dd.Count, dd.Last = d.Count, &last
		if len(d.Objects) > 1 {
			dd.Objects = d.Objects
		}
	}
	detail, _ := json.Marshal(dd)
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

// MaxMergedObjects bounds the objects one merged decision lists; a
// decision about one more object starts a new record.
const MaxMergedObjects = 100

// Merge merges decisions identical but for their time and object (the same
// caller, namespace, image, policy, answer, failed rules, reasons and cache
// state) into one with a Count and the distinct Objects, at the first
// one's place and time, with Last the latest's. The Pods of a workload are
// admitted with one such decision each; merging them keeps the audit log's
// size in step with what was decided, not with the rate of asking.
func Merge(ds []Decision) []Decision {
	if len(ds) < 2 {
		return ds
	}
	out := make([]Decision, 0, len(ds))
	at := make(map[string]int, len(ds))
	var sb strings.Builder
	for _, d := range ds {
		sb.Reset()
		d.key(&sb)
		k := sb.String()
		i, seen := at[k]
		if seen {
			seen = out[i].merge(d)
		}
		if !seen {
			at[k] = len(out)
			out = append(out, d)
		}
	}
	return out
}

// merge adds d to m unless m already lists MaxMergedObjects objects and d
// names another.
func (m *Decision) merge(d Decision) bool {
	objects := slices.Clip(m.Objects) // appends never write into a caller's array
	if len(objects) == 0 {
		objects = append(objects, m.Object)
	}
	for _, o := range append([]string{d.Object}, d.Objects...) {
		if slices.Contains(objects, o) {
			continue
		}
		if len(objects) == MaxMergedObjects {
			return false
		}
		objects = append(objects, o)
	}
	m.Objects = objects
	m.Count = max(m.Count, 1) + max(d.Count, 1)
	if m.Last.IsZero() {
		m.Last = m.At
	}
	last := d.Last
	if last.IsZero() {
		last = d.At
	}
	if last.After(m.Last) {
		m.Last = last
	}
	if d.At.Before(m.At) {
		m.At, m.Object = d.At, d.Object
	}
	return true
}

// Decisions counts the decisions ds stands for.
func Decisions(ds []Decision) int {
	n := 0
	for _, d := range ds {
		n += max(d.Count, 1)
	}
	return n
}

// key writes what makes decisions merge to sb: every field but the times,
// the count and the objects, each length-prefixed so that no two differ
// only in where a field ends.
func (d *Decision) key(sb *strings.Builder) {
	field := func(s string) {
		sb.WriteString(strconv.Itoa(len(s)))
		sb.WriteByte(':')
		sb.WriteString(s)
	}
	for _, s := range []string{d.Kind, d.Caller, d.Namespace, d.Ref, d.Repository, string(d.Digest), d.Policy,
		strconv.FormatBool(d.Allowed), strconv.FormatBool(d.Cached)} {
		field(s)
	}
	for _, list := range [][]string{d.FailedRules, d.Reasons} {
		field(strconv.Itoa(len(list)))
		for _, s := range list {
			field(s)
		}
	}
}
