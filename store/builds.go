package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// maxPackages bounds the packages indexed for one image.
const maxPackages = 100_000

// RecordBuild records a build: its record, and for a successful one the
// image, its bases, the tags moved, its attestations and its packages, and
// the audit records of the build and of each tag move, all in one
// transaction. Recording the same build id again replaces its record and
// adds what is new.
func (s *DB) RecordBuild(ctx context.Context, b *Build) error {
	if err := validateBuild(b); err != nil {
		return err
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if b.Outcome == OutcomeSucceeded {
			if err := s.previousTags(ctx, tx, b); err != nil {
				return err
			}
		}
		record, err := json.Marshal(b)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO builds (id, kind, issuer, subject, repository, digest, outcome, started, finished, record)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET digest = excluded.digest, outcome = excluded.outcome, finished = excluded.finished, record = excluded.record`),
			b.ID, b.Kind, b.Requester.Issuer, b.Requester.Subject, b.Repository, string(b.Digest), b.Outcome,
			micros(b.Started), micros(b.Finished), string(record)); err != nil {
			return err
		}
		events := []Event{buildEvent(b)}
		if b.Digest != "" && b.Outcome == OutcomeSucceeded {
			imageID, err := s.imageID(ctx, tx, b.Repository, b.Digest, b.ID)
			if err != nil {
				return err
			}
			if err := s.insertBases(ctx, tx, imageID, b.Bases); err != nil {
				return err
			}
			if err := s.insertAttestations(ctx, tx, imageID, b.ID, b.Attestations); err != nil {
				return err
			}
			if err := s.indexPackages(ctx, tx, imageID, b.Packages); err != nil {
				return err
			}
			_, at := eventActor(b)
			for _, t := range b.Tags {
				if err := s.setTag(ctx, tx, b.Repository, t.Tag, b.Digest, at); err != nil {
					return err
				}
				events = append(events, tagEvent(b, t))
			}
		}
		return s.appendEvents(ctx, tx, events)
	})
	if err != nil {
		return fmt.Errorf("record build %s: %w", b.ID, err)
	}
	return nil
}

func validateBuild(b *Build) error {
	switch {
	case b.ID == "":
		return fmt.Errorf("%w: record build: no id", hallmark.ErrInvalid)
	case b.Kind != KindBuild && b.Kind != KindBase && b.Kind != KindImport:
		return fmt.Errorf("%w: record build %s: kind %q", hallmark.ErrInvalid, b.ID, b.Kind)
	case (b.Kind == KindImport) != (b.Import != nil):
		return fmt.Errorf("%w: record build %s: an import, and only an import, says how it was imported", hallmark.ErrInvalid, b.ID)
	case b.Kind == KindImport && b.Outcome != OutcomeSucceeded:
		return fmt.Errorf("%w: record build %s: an import always succeeded", hallmark.ErrInvalid, b.ID)
	case b.Outcome != OutcomeSucceeded && b.Outcome != OutcomeFailed && b.Outcome != OutcomeCanceled:
		return fmt.Errorf("%w: record build %s: outcome %q", hallmark.ErrInvalid, b.ID, b.Outcome)
	case b.Outcome == OutcomeSucceeded && b.Digest == "":
		return fmt.Errorf("%w: record build %s: succeeded without a digest", hallmark.ErrInvalid, b.ID)
	case len(b.Packages) > maxPackages:
		return fmt.Errorf("%w: record build %s: %d packages, over the limit of %d", hallmark.ErrTooLarge, b.ID, len(b.Packages), maxPackages)
	}
	return nil
}

// actor names a verified caller in the audit log.
func actor(id hallmark.Identity) string {
	return strings.TrimSpace(id.Issuer + " " + id.Subject)
}

// eventActor and eventTime are who recorded b and when: the requester
// when the build finished, or for an import the importer when it imported.
func eventActor(b *Build) (string, time.Time) {
	if b.Import != nil {
		return b.Import.By, b.Import.At
	}
	return actor(b.Requester), b.Finished
}

func buildEvent(b *Build) Event {
	detail, _ := json.Marshal(struct {
		Source Source    `json:"source"`
		Tags   []TagMove `json:"tags,omitempty"`
		Error  string    `json:"error,omitempty"`
		Import *Import   `json:"import,omitempty"`
	}{b.Source, b.Tags, b.Error, b.Import})
	who, at := eventActor(b)
	return Event{
		At: at, Kind: b.Kind, Actor: who, Repository: b.Repository,
		Digest: b.Digest, Subject: b.ID, Outcome: b.Outcome, Detail: detail,
	}
}

func tagEvent(b *Build, t TagMove) Event {
	detail, _ := json.Marshal(struct {
		Build    string          `json:"build"`
		Previous hallmark.Digest `json:"previous,omitempty"`
	}{b.ID, t.Previous})
	who, at := eventActor(b)
	return Event{
		At: at, Kind: KindTag, Actor: who, Repository: b.Repository,
		Digest: b.Digest, Subject: t.Tag, Outcome: OutcomeSucceeded, Detail: detail,
	}
}

// imageID returns the id of the image, adding it if new.
func (s *DB) imageID(ctx context.Context, tx *sql.Tx, repo string, digest hallmark.Digest, buildID string) (int64, error) {
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO images (repository, digest, build_id, created) VALUES (?, ?, ?, ?) ON CONFLICT (repository, digest) DO NOTHING`),
		repo, string(digest), buildID, micros(s.now())); err != nil {
		return 0, fmt.Errorf("add image: %w", err)
	}
	var id int64
	if err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM images WHERE repository = ? AND digest = ?`), repo, string(digest)).Scan(&id); err != nil {
		return 0, fmt.Errorf("add image: %w", err)
	}
	return id, nil
}

func (s *DB) insertBases(ctx context.Context, tx *sql.Tx, imageID int64, bases []Base) error {
	for _, b := range bases {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO image_bases (image_id, ref, repository, digest, runtime) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (image_id, ref, digest) DO UPDATE SET runtime = excluded.runtime`),
			imageID, b.Ref, b.Repository, string(b.Digest), boolInt(b.Runtime)); err != nil {
			return fmt.Errorf("add base %s: %w", b.Ref, err)
		}
	}
	return nil
}

func (s *DB) insertAttestations(ctx context.Context, tx *sql.Tx, imageID int64, buildID string, atts []Attestation) error {
	for _, a := range atts {
		rec, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO attestations (image_id, digest, predicate_type, build_id, record) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (image_id, digest) DO NOTHING`),
			imageID, string(a.Digest), a.PredicateType, buildID, string(rec)); err != nil {
			return fmt.Errorf("add attestation %s: %w", a.Digest, err)
		}
	}
	return nil
}

// previousTags fills the Previous digest of b's tags that do not name one
// with what the store last recorded for them.
func (s *DB) previousTags(ctx context.Context, tx *sql.Tx, b *Build) error {
	for i := range b.Tags {
		t := &b.Tags[i]
		if t.Previous != "" {
			continue
		}
		var d string
		err := tx.QueryRowContext(ctx, s.q(`SELECT digest FROM tags WHERE repository = ? AND tag = ?`), b.Repository, t.Tag).Scan(&d)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read tag %s: %w", t.Tag, err)
		}
		t.Previous = hallmark.Digest(d)
	}
	return nil
}

// setTag points a tag at digest.
func (s *DB) setTag(ctx context.Context, tx *sql.Tx, repo, tag string, digest hallmark.Digest, at time.Time) error {
	if at.IsZero() {
		at = s.now()
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tags (repository, tag, digest, updated) VALUES (?, ?, ?, ?)
		ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, updated = excluded.updated`),
		repo, tag, string(digest), micros(at)); err != nil {
		return fmt.Errorf("move tag %s: %w", tag, err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
