package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// maxEventIDBytes bounds a registry event's id (the registry's are UUIDs).
const maxEventIDBytes = 256

// RegistryEvent is one manifest event of a registry's notifications: a
// manifest pushed, pulled or deleted, by whom. The edge validates the
// registry's envelope and names the registry; the store records what it
// is given.
type RegistryEvent struct {
	// ID is the registry's event id. An event whose id was recorded before
	// is skipped: the registry retries until it is answered.
	ID string
	// At is when the registry says the event happened; zero is now.
	At time.Time
	// Kind is KindPush, KindPull or KindDelete.
	Kind string
	// Actor is the registry's user of the request; empty when the request
	// was anonymous.
	Actor string
	// Addr is the client's address as the registry saw it.
	Addr string
	// Repository is "registry/repository".
	Repository string
	// Digest is the manifest's digest; empty only when a deletion names a
	// tag alone.
	Digest hallmark.Digest
	// Tag is the tag pushed, pulled or deleted; empty when the request
	// named the manifest by digest.
	Tag string
	// MediaType and Size describe the manifest (a deletion has neither).
	MediaType string
	Size      int64
	// Method and UserAgent are the HTTP request's.
	Method, UserAgent string
	// Instance is the id of the registry instance that sent the event.
	Instance string
}

// RegistryEventDetail is the Detail of a push, pull or delete audit
// record.
type RegistryEventDetail struct {
	MediaType string `json:"mediaType,omitempty"`
	Size      int64  `json:"size,omitempty"`
	Tag       string `json:"tag,omitempty"`
	Method    string `json:"method,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
	Addr      string `json:"addr,omitempty"`
	EventID   string `json:"eventID"`
	Instance  string `json:"instance,omitempty"`
}

// RecordRegistryEvents appends registry events to the audit log in one
// transaction, in order, skipping every event whose id was recorded
// before (by this gateway or a replica sharing the store). Each becomes a
// record of its kind whose actor is the registry's user, or the client's
// address when the request was anonymous, and whose subject is the tag.
func (s *DB) RecordRegistryEvents(ctx context.Context, evs []RegistryEvent) error {
	if len(evs) == 0 {
		return nil
	}
	for i, e := range evs {
		if err := validateRegistryEvent(e); err != nil {
			return fmt.Errorf("%w: record registry event %d: %w", hallmark.ErrInvalid, i, err)
		}
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// The chain's head is locked first, so that replicas recording the
		// same events take turns instead of waiting on each other's ids.
		if _, err := s.lockHead(ctx, tx, chainEvents); err != nil {
			return fmt.Errorf("lock audit chain %s: %w", chainEvents, err)
		}
		events := make([]Event, 0, len(evs))
		for _, e := range evs {
			res, err := tx.ExecContext(ctx, s.q(`INSERT INTO registry_events (id, received) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`), e.ID, micros(s.now()))
			if err != nil {
				return fmt.Errorf("remember event %s: %w", e.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				continue // recorded before
			}
			events = append(events, registryEvent(e))
		}
		return s.appendEvents(ctx, tx, events)
	})
	if err != nil {
		return fmt.Errorf("record %d registry events: %w", len(evs), err)
	}
	return nil
}

func validateRegistryEvent(e RegistryEvent) error {
	switch {
	case e.ID == "" || len(e.ID) > maxEventIDBytes:
		return fmt.Errorf("id of %d bytes: want 1 to %d", len(e.ID), maxEventIDBytes)
	case e.Kind != KindPush && e.Kind != KindPull && e.Kind != KindDelete:
		return fmt.Errorf("kind %q is not a registry event", e.Kind)
	case !strings.Contains(e.Repository, "/"):
		return fmt.Errorf("repository %q is not registry/repository", e.Repository)
	case e.Digest == "" && (e.Kind != KindDelete || e.Tag == ""):
		return fmt.Errorf("a %s without a digest", e.Kind)
	}
	return nil
}

func registryEvent(e RegistryEvent) Event {
	detail, _ := json.Marshal(RegistryEventDetail{ // strings and an int
		MediaType: e.MediaType, Size: e.Size, Tag: e.Tag, Method: e.Method, UserAgent: e.UserAgent,
		Addr: e.Addr, EventID: e.ID, Instance: e.Instance,
	})
	who := e.Actor
	if who == "" {
		who = e.Addr
	}
	return Event{
		At: e.At, Kind: e.Kind, Actor: who, Repository: e.Repository, Digest: e.Digest,
		Subject: e.Tag, Outcome: OutcomeSucceeded, Detail: detail,
	}
}

// isFallbackTag reports whether tag is one that Sigstore tools and the
// OCI referrers tag schema maintain beside an image, rather than a tag of
// an image: "sha256-<64 hex>", alone or with ".sig", ".att" or ".sbom".
func isFallbackTag(tag string) bool {
	hex, ok := strings.CutPrefix(tag, "sha256-")
	if !ok {
		return false
	}
	for _, suffix := range []string{".sig", ".att", ".sbom"} {
		if h, ok := strings.CutSuffix(hex, suffix); ok {
			hex = h
			break
		}
	}
	_, err := hallmark.ParseDigest("sha256:" + hex)
	return err == nil
}
