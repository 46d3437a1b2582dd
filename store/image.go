package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	hallmark "github.com/hallmark-dev/hallmark"
)

// maxImageEvents bounds the audit records ImageRecord carries.
const maxImageEvents = 100

// ImageRecord is everything the store knows about one image.
type ImageRecord struct {
	Image
	// Builds are the builds that produced it, newest first.
	Builds []Build `json:"builds,omitempty"`
	// Attestations are those recorded for it.
	Attestations []Attestation `json:"attestations,omitempty"`
	// Events are the newest audit records about it (tag moves, decisions,
	// registry events), newest first, at most 100.
	Events []Event `json:"events,omitempty"`
}

// Image returns the record of an image, or an error wrapping ErrNotFound.
func (s *DB) Image(ctx context.Context, repository string, digest hallmark.Digest) (*ImageRecord, error) {
	r := &ImageRecord{}
	var d string
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, repository, digest, build_id, created FROM images WHERE repository = ? AND digest = ?`),
		repository, string(digest)).Scan(&r.id, &r.Repository, &d, &r.BuildID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("image %s@%s: %w", repository, digest, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	r.Digest, r.Created = hallmark.Digest(d), fromMicros(created)
	images := []Image{r.Image}
	if err := s.fillImages(ctx, images); err != nil {
		return nil, err
	}
	r.Image = images[0]
	if r.Builds, err = queryAll(ctx, s, `SELECT record FROM builds WHERE repository = ? AND digest = ? ORDER BY started DESC LIMIT 100`,
		scanBuild, repository, string(digest)); err != nil {
		return nil, fmt.Errorf("read builds of image: %w", err)
	}
	if r.Attestations, err = queryAll(ctx, s, `SELECT record FROM attestations WHERE image_id = ? ORDER BY predicate_type, digest`,
		func(rows *sql.Rows) (Attestation, error) {
			var a Attestation
			var rec string
			if err := rows.Scan(&rec); err != nil {
				return a, err
			}
			return a, json.Unmarshal([]byte(rec), &a)
		}, r.id); err != nil {
		return nil, fmt.Errorf("read attestations of image: %w", err)
	}
	if r.Events, err = queryAll(ctx, s, `SELECT id, seq, at, kind, actor, repository, digest, subject, outcome, detail, prev_hash, hash, chain
		FROM audit WHERE digest = ? AND repository = ? ORDER BY id DESC LIMIT ?`,
		func(rows *sql.Rows) (Event, error) { return scanEvent(rows) }, string(digest), repository, maxImageEvents); err != nil {
		return nil, fmt.Errorf("read audit records of image: %w", err)
	}
	return r, nil
}

// queryAll runs a query and scans every row.
func queryAll[T any](ctx context.Context, s *DB, query string, scan func(*sql.Rows) (T, error), args ...any) ([]T, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
