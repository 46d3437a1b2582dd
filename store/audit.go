package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Chains of the audit log. Each is a sequence of records, each carrying
// the hash of the one before. Decisions have their own chain because
// retention removes their oldest records; a pruned prefix is recorded in
// the chain's head, so removing it is not tampering.
const (
	chainEvents    = "events"    // builds, tags, registry events, imports: kept
	chainDecisions = "decisions" // verify and admission decisions: retention applies
)

// Event is a record of the audit log.
type Event struct {
	// ID orders every record of the log.
	ID int64 `json:"id"`
	// Chain and Seq place the record in its hash chain.
	Chain string `json:"chain"`
	Seq   int64  `json:"seq"`
	// At is when it happened.
	At time.Time `json:"at"`
	// Kind is one of the Kind constants.
	Kind string `json:"kind"`
	// Actor is who acted: "issuer subject" of a verified caller, the
	// Kubernetes user of an admission, the registry's user of a push.
	Actor string `json:"actor"`
	// Repository and Digest name the image concerned.
	Repository string          `json:"repository,omitempty"`
	Digest     hallmark.Digest `json:"digest,omitempty"`
	// Subject is the build id, the tag, or the admitted object.
	Subject string `json:"subject,omitempty"`
	// Outcome is one of the Outcome constants.
	Outcome string `json:"outcome,omitempty"`
	// Detail is the kind's own record, JSON.
	Detail json.RawMessage `json:"detail,omitempty"`
	// PrevHash and Hash chain the record: Hash is the hex sha256 of
	// PrevHash and the record's other fields (hashedEvent).
	PrevHash string `json:"prevHash"`
	Hash     string `json:"hash"`
}

// hashedEvent is what an event's hash covers, in this order.
type hashedEvent struct {
	Prev       string          `json:"prev"`
	Chain      string          `json:"chain"`
	Seq        int64           `json:"seq"`
	At         int64           `json:"at"`
	Kind       string          `json:"kind"`
	Actor      string          `json:"actor"`
	Repository string          `json:"repository"`
	Digest     string          `json:"digest"`
	Subject    string          `json:"subject"`
	Outcome    string          `json:"outcome"`
	Detail     json.RawMessage `json:"detail"`
}

func (e *Event) computeHash() string {
	detail := e.Detail
	if len(detail) == 0 {
		detail = json.RawMessage("null")
	}
	b, _ := json.Marshal(hashedEvent{ // nothing in it can fail to encode
		Prev: e.PrevHash, Chain: e.Chain, Seq: e.Seq, At: micros(e.At), Kind: e.Kind, Actor: e.Actor,
		Repository: e.Repository, Digest: string(e.Digest), Subject: e.Subject, Outcome: e.Outcome, Detail: detail,
	})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func chainOf(kind string) string {
	if kind == KindVerify || kind == KindAdmission {
		return chainDecisions
	}
	return chainEvents
}

// auditBatch is how many audit records one INSERT writes: twelve
// parameters each stay far below both databases' limits.
const auditBatch = 500

// appendEvents adds events to the audit log in tx, chaining each to the
// one before in its chain. It sets their Chain, Seq and hashes.
func (s *DB) appendEvents(ctx context.Context, tx *sql.Tx, events []Event) error {
	heads := map[string]*chainHead{}
	for i := range events {
		e := &events[i]
		e.Chain = chainOf(e.Kind)
		h := heads[e.Chain]
		if h == nil {
			var err error
			if h, err = s.lockHead(ctx, tx, e.Chain); err != nil {
				return fmt.Errorf("lock audit chain %s: %w", e.Chain, err)
			}
			heads[e.Chain] = h
		}
		if e.At.IsZero() {
			e.At = s.now()
		}
		e.At = e.At.UTC().Truncate(time.Microsecond)
		h.seq++
		e.Seq, e.PrevHash = h.seq, h.hash
		e.Hash = e.computeHash()
		h.hash = e.Hash
	}
	for start := 0; start < len(events); start += auditBatch {
		var (
			sb   strings.Builder
			args []any
		)
		sb.WriteString(`INSERT INTO audit (chain, seq, at, kind, actor, repository, digest, subject, outcome, detail, prev_hash, hash) VALUES `)
		for i, e := range events[start:min(start+auditBatch, len(events))] {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			detail := string(e.Detail)
			if detail == "" {
				detail = "null"
			}
			args = append(args, e.Chain, e.Seq, micros(e.At), e.Kind, e.Actor, e.Repository, string(e.Digest), e.Subject, e.Outcome, detail, e.PrevHash, e.Hash)
		}
		if _, err := tx.ExecContext(ctx, s.q(sb.String()), args...); err != nil {
			return fmt.Errorf("append audit records: %w", err)
		}
	}
	for chain, h := range heads {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE audit_heads SET seq = ?, hash = ? WHERE chain = ?`), h.seq, h.hash, chain); err != nil {
			return fmt.Errorf("update audit chain %s: %w", chain, err)
		}
	}
	return nil
}

type chainHead struct {
	seq  int64
	hash string
}

// lockHead reads a chain's head, creating it, and locks it for the rest of
// tx: on PostgreSQL with FOR UPDATE, on SQLite by the write transaction.
func (s *DB) lockHead(ctx context.Context, tx *sql.Tx, chain string) (*chainHead, error) {
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO audit_heads (chain, seq, hash, pruned_seq, pruned_hash) VALUES (?, 0, '', 0, '') ON CONFLICT (chain) DO NOTHING`), chain); err != nil {
		return nil, err
	}
	q := `SELECT seq, hash FROM audit_heads WHERE chain = ?`
	if s.dialect.dollar {
		q += ` FOR UPDATE`
	}
	h := &chainHead{}
	if err := tx.QueryRowContext(ctx, s.q(q), chain).Scan(&h.seq, &h.hash); err != nil {
		return nil, err
	}
	return h, nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanEvent(r scanner) (Event, error) {
	var (
		e              Event
		at             int64
		digest, detail string
	)
	if err := r.Scan(&e.ID, &e.Seq, &at, &e.Kind, &e.Actor, &e.Repository, &digest, &e.Subject, &e.Outcome, &detail, &e.PrevHash, &e.Hash, &e.Chain); err != nil {
		return e, err
	}
	e.At, e.Digest = fromMicros(at), hallmark.Digest(digest)
	if detail != "null" {
		e.Detail = json.RawMessage(detail)
	}
	return e, nil
}
