package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
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

// AuditCheck is the result of VerifyAudit.
type AuditCheck struct {
	// Records counts the records checked.
	Records int64 `json:"records"`
	// Chains maps each chain to its length and, when retention removed
	// its oldest records, the first sequence number still kept.
	Chains map[string]ChainCheck `json:"chains"`
	// Problems lists every inconsistency found, empty when the log is
	// intact.
	Problems []string `json:"problems,omitempty"`
}

// ChainCheck describes one chain.
type ChainCheck struct {
	Length   int64 `json:"length"`
	FirstSeq int64 `json:"firstSeq"`
	// HeadHash is the hash of the chain's last record as its head holds
	// it: kept elsewhere and compared later, it detects a rewrite of the
	// whole chain.
	HeadHash string `json:"headHash"`
}

// maxProblems bounds AuditCheck.Problems.
const maxProblems = 100

// VerifyAudit recomputes the hash chains of the audit log and reports
// every record that was altered, removed or inserted out of order.
func (s *DB) VerifyAudit(ctx context.Context) (*AuditCheck, error) {
	check := &AuditCheck{Chains: map[string]ChainCheck{}}
	problem := func(format string, args ...any) {
		if len(check.Problems) < maxProblems {
			check.Problems = append(check.Problems, fmt.Sprintf(format, args...))
		}
	}
	heads, err := s.heads(ctx)
	if err != nil {
		return nil, err
	}
	for _, h := range heads {
		seq, prev := h.prunedSeq, h.prunedHash
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, seq, at, kind, actor, repository, digest, subject, outcome, detail, prev_hash, hash, chain
			FROM audit WHERE chain = ? AND seq > ? ORDER BY seq`), h.chain, h.prunedSeq)
		if err != nil {
			return nil, fmt.Errorf("verify audit: %w", err)
		}
		for rows.Next() {
			e, err := scanEvent(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("verify audit: %w", err)
			}
			check.Records++
			if e.Seq != seq+1 {
				problem("chain %s: records %d to %d are missing", h.chain, seq+1, e.Seq-1)
			}
			if e.PrevHash != prev {
				problem("chain %s: record %d (id %d) does not follow the record before it", h.chain, e.Seq, e.ID)
			}
			if got := e.computeHash(); got != e.Hash {
				problem("chain %s: record %d (id %d) was altered: its content hashes to %s, not %s", h.chain, e.Seq, e.ID, got, e.Hash)
			}
			seq, prev = e.Seq, e.Hash
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("verify audit: %w", err)
		}
		if seq != h.seq || prev != h.hash {
			problem("chain %s: the last record is %d, but the chain's head is record %d: records at its end were removed", h.chain, seq, h.seq)
		}
		check.Chains[h.chain] = ChainCheck{Length: h.seq, FirstSeq: h.prunedSeq + 1, HeadHash: h.hash}
	}
	var stray int64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit a WHERE NOT EXISTS (SELECT 1 FROM audit_heads h WHERE h.chain = a.chain AND a.seq > h.pruned_seq AND a.seq <= h.seq)`).Scan(&stray); err != nil {
		return nil, fmt.Errorf("verify audit: %w", err)
	}
	if stray > 0 {
		problem("%d records are outside every chain", stray)
	}
	return check, nil
}

type head struct {
	chain            string
	seq, prunedSeq   int64
	hash, prunedHash string
}

func (s *DB) heads(ctx context.Context) ([]head, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT chain, seq, hash, pruned_seq, pruned_hash FROM audit_heads ORDER BY chain`)
	if err != nil {
		return nil, fmt.Errorf("read audit chains: %w", err)
	}
	defer rows.Close()
	var out []head
	for rows.Next() {
		var h head
		if err := rows.Scan(&h.chain, &h.seq, &h.hash, &h.prunedSeq, &h.prunedHash); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// PruneDecisions removes the verification and admission decisions made
// before t (retention), recording in the chain's head where it now starts.
// It returns how many records it removed.
func (s *DB) PruneDecisions(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.lockHead(ctx, tx, chainDecisions); err != nil {
			return err
		}
		var seq int64
		var hash string
		err := tx.QueryRowContext(ctx, s.q(`SELECT seq, hash FROM audit WHERE chain = ? AND at < ? ORDER BY seq DESC LIMIT 1`), chainDecisions, micros(before)).Scan(&seq, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM audit WHERE chain = ? AND seq <= ?`), chainDecisions, seq)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, s.q(`UPDATE audit_heads SET pruned_seq = ?, pruned_hash = ? WHERE chain = ?`), seq, hash, chainDecisions)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune decisions: %w", err)
	}
	return n, nil
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
