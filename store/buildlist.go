package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// BuildQuery selects builds. Filters combine with AND.
type BuildQuery struct {
	// Readable says which repositories the caller may read. Nil reads
	// nothing.
	Readable func(repository string) bool
	// Subject keeps the builds of one requester (the token's "sub").
	Subject string
	// Repository keeps the builds of one repository.
	Repository string
	// Since keeps the builds started at or after it.
	Since time.Time
	// Outcome keeps the builds of one outcome (OutcomeRunning, …).
	Outcome string
	Page
}

// BuildOutcomes are the outcomes a build may have, running included.
var BuildOutcomes = []string{OutcomeRunning, OutcomeSucceeded, OutcomeFailed, OutcomeCanceled}

// Builds returns a page of builds, newest first, and the next cursor.
func (s *DB) Builds(ctx context.Context, q BuildQuery) ([]Build, string, error) {
	limit, err := q.limit()
	if err != nil {
		return nil, "", err
	}
	c, err := q.decode("builds")
	if err != nil {
		return nil, "", err
	}
	where, args := []string{"(? = 0 OR started < ? OR (started = ? AND id < ?))"}, []any{0, 0, 0, ""}
	if q.Subject != "" {
		where, args = append(where, "subject = ?"), append(args, q.Subject)
	}
	if q.Repository != "" {
		where, args = append(where, "repository = ?"), append(args, q.Repository)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "started >= ?"), append(args, micros(q.Since))
	}
	if q.Outcome != "" {
		if !slices.Contains(BuildOutcomes, q.Outcome) {
			return nil, "", fmt.Errorf("%w: outcome %q is not one of %s", hallmark.ErrInvalid, hallmark.Clip(q.Outcome, 40), strings.Join(BuildOutcomes, ", "))
		}
		where, args = append(where, "outcome = ?"), append(args, q.Outcome)
	}
	query := s.q(`SELECT id, started, record FROM builds WHERE ` + strings.Join(where, " AND ") + ` ORDER BY started DESC, id DESC LIMIT ?`)
	can := readable(q.Readable)
	first := c.Time == 0 && c.Key == ""
	lastT, lastID := c.Time, c.Key
	out, more, err := collect(limit, func() (*sql.Rows, error) {
		args[0], args[1], args[2], args[3] = boolInt(!first), lastT, lastT, lastID
		return s.db.QueryContext(ctx, query, append(args, limit)...)
	}, func(rows *sql.Rows) (Build, bool, error) {
		var b Build
		var id, rec string
		var started int64
		if err := rows.Scan(&id, &started, &rec); err != nil {
			return b, false, err
		}
		lastT, lastID, first = started, id, false
		if err := json.Unmarshal([]byte(rec), &b); err != nil {
			return b, false, fmt.Errorf("read build %s: %w", id, err)
		}
		return b, can(b.Repository), nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("query builds: %w", err)
	}
	next := ""
	if more {
		next = cursor{Query: "builds", Time: lastT, Key: lastID}.encode()
	}
	return out, next, nil
}

// Build returns the record of one build.
func (s *DB) Build(ctx context.Context, id string) (*Build, error) {
	var rec string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT record FROM builds WHERE id = ?`), id).Scan(&rec)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("build %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read build: %w", err)
	}
	var b Build
	if err := json.Unmarshal([]byte(rec), &b); err != nil {
		return nil, fmt.Errorf("read build %s: %w", id, err)
	}
	return &b, nil
}
