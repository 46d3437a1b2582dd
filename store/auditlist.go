package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// AuditQuery selects audit records. Filters combine with AND.
type AuditQuery struct {
	// Readable says which repositories the caller may read; records of
	// other repositories, and records of none, are never returned. Nil
	// reads nothing.
	Readable func(repository string) bool
	// Kinds keeps records of these kinds (the Kind constants).
	Kinds []string
	// Since and Until keep records at or after Since and before Until.
	Since, Until time.Time
	// Repository and Digest keep the records of one repository or image.
	Repository string
	Digest     hallmark.Digest
	// UnattestedPushes keeps the registry's records of a tag pushed whose
	// digest is neither an image the gateway recorded in that repository
	// nor the referrer manifest of one of its attestations, and whose tag
	// is not a Sigstore or referrers fallback tag (isFallbackTag): images
	// that went around the gateway. It is evaluated when asked, so a push
	// becomes attested once its build is recorded (the gateway's own tag
	// push arrives before its build's record).
	UnattestedPushes bool
	Page
}

var kinds = []string{KindBuild, KindBase, KindVerify, KindAdmission, KindTag, KindPush, KindPull, KindDelete, KindImport, KindVulnDB}

// Audit returns a page of the audit log, oldest first, and the next
// cursor.
func (s *DB) Audit(ctx context.Context, q AuditQuery) ([]Event, string, error) {
	limit, err := q.limit()
	if err != nil {
		return nil, "", err
	}
	c, err := q.decode("audit")
	if err != nil {
		return nil, "", err
	}
	where, args := []string{"id > ?"}, []any{c.ID}
	if len(q.Kinds) > 0 {
		var marks []string
		for _, k := range q.Kinds {
			if !slices.Contains(kinds, k) {
				return nil, "", fmt.Errorf("%w: audit kind %q: want one of %s", hallmark.ErrInvalid, k, strings.Join(kinds, ", "))
			}
			marks, args = append(marks, "?"), append(args, k)
		}
		where = append(where, "kind IN ("+strings.Join(marks, ", ")+")")
	}
	if !q.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, micros(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "at < ?"), append(args, micros(q.Until))
	}
	if q.Repository != "" {
		where, args = append(where, "repository = ?"), append(args, q.Repository)
	}
	if q.Digest != "" {
		where, args = append(where, "digest = ?"), append(args, string(q.Digest))
	}
	if q.UnattestedPushes {
		where = append(where, `kind = ? AND subject <> ''`,
			`NOT EXISTS (SELECT 1 FROM images i WHERE i.repository = audit.repository AND i.digest = audit.digest)`,
			`NOT EXISTS (SELECT 1 FROM attestations t JOIN images i ON i.id = t.image_id WHERE t.digest = audit.digest AND i.repository = audit.repository)`)
		args = append(args, KindPush)
	}
	query := s.q(`SELECT id, seq, at, kind, actor, repository, digest, subject, outcome, detail, prev_hash, hash, chain FROM audit WHERE ` +
		strings.Join(where, " AND ") + ` ORDER BY id LIMIT ?`)
	can := readable(q.Readable)
	last := c.ID
	out, more, err := collect(limit, func() (*sql.Rows, error) {
		args[0] = last
		return s.db.QueryContext(ctx, query, append(args, limit)...)
	}, func(rows *sql.Rows) (Event, bool, error) {
		e, err := scanEvent(rows)
		last = e.ID
		keep := err == nil && can(e.Repository) && !(q.UnattestedPushes && isFallbackTag(e.Subject))
		return e, keep, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("query audit log: %w", err)
	}
	next := ""
	if more {
		next = cursor{Query: "audit", ID: last}.encode()
	}
	return out, next, nil
}
