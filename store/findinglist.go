package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Finding is a vulnerability finding recorded on one image.
type Finding struct {
	Repository string          `json:"repository"`
	Digest     hallmark.Digest `json:"digest"`
	// Tags are the tags that point at the image now.
	Tags []string `json:"tags,omitempty"`
	// PURL is the affected package.
	PURL string `json:"purl"`
	FindingData
	// FirstSeen is when a scan first found it; Resolved when a re-scan no
	// longer did (zero while it is open).
	FirstSeen time.Time `json:"firstSeen"`
	Resolved  time.Time `json:"resolved,omitzero"`
}

// FindingQuery selects findings. Filters combine with AND.
type FindingQuery struct {
	// Readable says which repositories the caller may read; findings of
	// others are never returned. Nil reads nothing.
	Readable func(repository string) bool
	// Repository and Digest keep the findings of one image.
	Repository string
	Digest     hallmark.Digest
	// Advisory keeps the findings of one advisory, named by its id or any
	// of its aliases.
	Advisory string
	// Resolved keeps resolved findings too.
	Resolved bool
	Page
}

// Findings returns a page of findings in the order they were first
// recorded, and the cursor of the next page ("" after the last).
func (s *DB) Findings(ctx context.Context, q FindingQuery) ([]Finding, string, error) {
	limit, err := q.limit()
	if err != nil {
		return nil, "", err
	}
	c, err := q.decode("findings")
	if err != nil {
		return nil, "", err
	}
	if (q.Repository == "") != (q.Digest == "") {
		return nil, "", fmt.Errorf("%w: findings of an image need its repository and digest", hallmark.ErrInvalid)
	}
	var (
		where []string
		args  []any
	)
	if q.Repository != "" {
		where = append(where, "f.image_id = (SELECT id FROM images WHERE repository = ? AND digest = ?)")
		args = append(args, q.Repository, string(q.Digest))
	}
	if q.Advisory != "" {
		where = append(where, "f.advisory IN (SELECT advisory FROM vuln_ids WHERE id = ?)")
		args = append(args, q.Advisory)
	}
	if !q.Resolved {
		where = append(where, "f.resolved = 0")
	}
	where = append(where, "f.id > ?")
	args = append(args, int64(0), limit)
	query := s.q(`SELECT f.id, i.repository, i.digest, f.purl, f.advisory, f.severity, f.excepted, f.detail, f.first_seen, f.resolved
		FROM vuln_findings f JOIN images i ON i.id = f.image_id WHERE ` + strings.Join(where, " AND ") + ` ORDER BY f.id LIMIT ?`)
	can := readable(q.Readable)
	last := c.ID
	out, more, err := collect(limit, func() (*sql.Rows, error) {
		args[len(args)-2] = last
		return s.db.QueryContext(ctx, query, args...)
	}, func(rows *sql.Rows) (Finding, bool, error) {
		var (
			f                   Finding
			digest, detail      string
			excepted            int
			firstSeen, resolved int64
		)
		if err := rows.Scan(&last, &f.Repository, &digest, &f.PURL, &f.Advisory, &f.Severity, &excepted, &detail, &firstSeen, &resolved); err != nil {
			return f, false, err
		}
		f.Digest, f.Excepted, f.Detail, f.FirstSeen = hallmark.Digest(digest), excepted != 0, []byte(detail), fromMicros(firstSeen)
		if resolved != 0 {
			f.Resolved = fromMicros(resolved)
		}
		return f, can(f.Repository), nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("query findings: %w", err)
	}
	if err := s.fillAliases(ctx, out); err != nil {
		return nil, "", err
	}
	if err := s.fillFindingTags(ctx, out); err != nil {
		return nil, "", err
	}
	next := ""
	if more {
		next = cursor{Query: "findings", ID: last}.encode()
	}
	return out, next, nil
}

// fillAliases adds the aliases of each finding's advisory.
func (s *DB) fillAliases(ctx context.Context, fs []Finding) error {
	if len(fs) == 0 {
		return nil
	}
	var args []any
	seen := map[string]bool{}
	for _, f := range fs {
		if !seen[f.Advisory] {
			seen[f.Advisory] = true
			args = append(args, f.Advisory)
		}
	}
	type pair struct{ id, advisory string }
	pairs, err := queryAll(ctx, s, `SELECT id, advisory FROM vuln_ids WHERE advisory IN (`+marks(len(args))+`) AND id <> advisory ORDER BY id`,
		func(rows *sql.Rows) (pair, error) {
			var p pair
			return p, rows.Scan(&p.id, &p.advisory)
		}, args...)
	if err != nil {
		return fmt.Errorf("read advisory aliases: %w", err)
	}
	aliases := map[string][]string{}
	for _, p := range pairs {
		aliases[p.advisory] = append(aliases[p.advisory], p.id)
	}
	for i := range fs {
		fs[i].Aliases = aliases[fs[i].Advisory]
	}
	return nil
}

// fillFindingTags adds the tags that point at each finding's image now.
func (s *DB) fillFindingTags(ctx context.Context, fs []Finding) error {
	if len(fs) == 0 {
		return nil
	}
	var args []any
	seen := map[hallmark.Digest]bool{}
	for _, f := range fs {
		if !seen[f.Digest] {
			seen[f.Digest] = true
			args = append(args, string(f.Digest))
		}
	}
	type tag struct{ repository, digest, tag string }
	tags, err := queryAll(ctx, s, `SELECT repository, digest, tag FROM tags WHERE digest IN (`+marks(len(args))+`) ORDER BY tag`,
		func(rows *sql.Rows) (tag, error) {
			var t tag
			return t, rows.Scan(&t.repository, &t.digest, &t.tag)
		}, args...)
	if err != nil {
		return fmt.Errorf("read tags of findings: %w", err)
	}
	byImage := map[[2]string][]string{}
	for _, t := range tags {
		k := [2]string{t.repository, t.digest}
		byImage[k] = append(byImage[k], t.tag)
	}
	for i := range fs {
		fs[i].Tags = byImage[[2]string{fs[i].Repository, string(fs[i].Digest)}]
	}
	return nil
}

// FindingCount is how many open findings of one severity there are.
type FindingCount struct {
	Severity string
	Excepted bool
	// Findings counts findings; Images the images that have one.
	Findings, Images int64
}

// FindingCounts counts the open findings by severity and exception.
func (s *DB) FindingCounts(ctx context.Context) ([]FindingCount, error) {
	counts, err := queryAll(ctx, s, `SELECT severity, excepted, COUNT(*), COUNT(DISTINCT image_id) FROM vuln_findings
		WHERE resolved = 0 GROUP BY severity, excepted ORDER BY severity, excepted`, func(rows *sql.Rows) (FindingCount, error) {
		var (
			c        FindingCount
			excepted int
		)
		err := rows.Scan(&c.Severity, &excepted, &c.Findings, &c.Images)
		c.Excepted = excepted != 0
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("count findings: %w", err)
	}
	return counts, nil
}
