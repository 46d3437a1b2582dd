package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Progress is how far a running build has got.
type Progress struct {
	// Phase is PhaseQueued, PhaseBuilding, PhaseAttesting or PhaseTagging.
	Phase string `json:"phase"`
	// Queue is the number of builds ahead of it while queued.
	Queue int `json:"queue,omitempty"`
	// Step names the BuildKit step it is running, or the last one started.
	Step string `json:"step,omitempty"`
	// Done and Total count BuildKit's steps: completed, and seen so far.
	Done  int `json:"done,omitempty"`
	Total int `json:"total,omitempty"`
	// Updated is when the progress was last written.
	Updated time.Time `json:"updated"`
}

// The phases of a running build.
const (
	PhaseQueued    = "queued"
	PhaseBuilding  = "building"
	PhaseAttesting = "attesting"
	PhaseTagging   = "tagging"
)

// maxStep bounds the step name a progress record keeps.
const maxStep = 200

// StartBuild records that a build or base build is running: b's Outcome
// must be OutcomeRunning. It writes no audit record (the finished build
// does) and does nothing when the build is already recorded, so a start
// written late never hides a finished record.
func (s *DB) StartBuild(ctx context.Context, b *Build) error {
	if err := validateRunning(b); err != nil {
		return err
	}
	rec, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.q(`INSERT INTO builds (id, kind, issuer, subject, repository, digest, outcome, started, finished, record)
		VALUES (?, ?, ?, ?, ?, '', ?, ?, 0, ?) ON CONFLICT (id) DO NOTHING`),
		b.ID, b.Kind, b.Requester.Issuer, b.Requester.Subject, b.Repository, OutcomeRunning, micros(b.Started), string(rec)); err != nil {
		return fmt.Errorf("record build start %s: %w", b.ID, err)
	}
	return nil
}

// UpdateProgress rewrites a running build's record with its progress. It
// does nothing once the build is recorded as finished.
func (s *DB) UpdateProgress(ctx context.Context, b *Build) error {
	if err := validateRunning(b); err != nil {
		return err
	}
	rec, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE builds SET record = ? WHERE id = ? AND outcome = ?`),
		string(rec), b.ID, OutcomeRunning); err != nil {
		return fmt.Errorf("record build progress %s: %w", b.ID, err)
	}
	return nil
}

func validateRunning(b *Build) error {
	switch {
	case b.ID == "":
		return fmt.Errorf("%w: record build: no id", hallmark.ErrInvalid)
	case b.Kind != KindBuild && b.Kind != KindBase:
		return fmt.Errorf("%w: record build %s: a %q does not run", hallmark.ErrInvalid, b.ID, b.Kind)
	case b.Outcome != OutcomeRunning:
		return fmt.Errorf("%w: record build %s: outcome %q is not running", hallmark.ErrInvalid, b.ID, b.Outcome)
	case b.Progress != nil && len(b.Progress.Step) > maxStep:
		return fmt.Errorf("%w: record build %s: step name over %d bytes", hallmark.ErrTooLarge, b.ID, maxStep)
	}
	return nil
}

// maxAbandoned bounds the builds one call to AbandonBuilds ends.
const maxAbandoned = 100

// AbandonBuilds records as failed, with reason as their error, the builds
// still running that started before before: the gateway running them
// stopped before it could record their end. Each gets the audit record of
// a failed build. It returns how many it ended, at most 100 per call.
func (s *DB) AbandonBuilds(ctx context.Context, before time.Time, reason string) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT record FROM builds WHERE outcome = ? AND started < ? ORDER BY started LIMIT ?`),
			OutcomeRunning, micros(before), maxAbandoned)
		if err != nil {
			return err
		}
		var ended []Build
		for rows.Next() {
			b, err := scanBuild(rows)
			if err != nil {
				rows.Close()
				return err
			}
			ended = append(ended, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		events := make([]Event, 0, len(ended))
		for i := range ended {
			b := &ended[i]
			b.Outcome, b.Error, b.Finished, b.Progress, b.Tags = OutcomeFailed, reason, s.now().UTC(), nil, nil
			rec, err := json.Marshal(b)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, s.q(`UPDATE builds SET outcome = ?, finished = ?, record = ? WHERE id = ? AND outcome = ?`),
				b.Outcome, micros(b.Finished), string(rec), b.ID, OutcomeRunning)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 1 {
				events = append(events, buildEvent(b))
				n++
			}
		}
		return s.appendEvents(ctx, tx, events)
	})
	if err != nil {
		return 0, fmt.Errorf("end abandoned builds: %w", err)
	}
	return n, nil
}

// maxBuildsByID bounds the ids one BuildsByID reads.
const maxBuildsByID = 100

// BuildsByID returns the records of the builds named, those that exist
// and are in a repository canRead says the caller may read, in no order.
func (s *DB) BuildsByID(ctx context.Context, ids []string, canRead func(string) bool) ([]Build, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > maxBuildsByID {
		return nil, fmt.Errorf("%w: %d builds asked for, over %d", hallmark.ErrInvalid, len(ids), maxBuildsByID)
	}
	builds, err := queryAll(ctx, s, `SELECT record FROM builds WHERE id IN (`+marks(len(ids))+`)`, scanBuild, anyArgs(ids)...)
	if err != nil {
		return nil, fmt.Errorf("read builds: %w", err)
	}
	can := readable(canRead)
	return slices.DeleteFunc(builds, func(b Build) bool { return !can(b.Repository) }), nil
}

// scanBuild reads a row whose one column is a build's record.
func scanBuild(rows *sql.Rows) (Build, error) {
	var b Build
	var rec string
	if err := rows.Scan(&rec); err != nil {
		return b, err
	}
	return b, json.Unmarshal([]byte(rec), &b)
}
