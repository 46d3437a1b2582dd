package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

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
