package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Bounds of a base query: how deep bases of bases are followed, and how
// many images built on one base a query may page through.
const (
	maxBaseDepth = 16
	maxBuiltOn   = 20_000
	builtOnBatch = 500
)

// builtOn returns the ids above after, in order, of the images built on
// the base with this digest or on any digest a FROM naming ref was pinned
// to, directly or through images built on those, and so on. It follows
// the graph one level per query, each an index lookup of a batch of
// digests, which both databases plan well (a recursive CTE made
// PostgreSQL sort whole tables).
func (s *DB) builtOn(ctx context.Context, digest hallmark.Digest, ref string, after int64) ([]int64, error) {
	frontier := []string{}
	if digest != "" {
		frontier = append(frontier, string(digest))
	}
	if ref != "" {
		ds, err := queryAll(ctx, s, `SELECT DISTINCT digest FROM image_bases WHERE ref = ?`,
			func(rows *sql.Rows) (string, error) {
				var d string
				return d, rows.Scan(&d)
			}, ref)
		if err != nil {
			return nil, fmt.Errorf("find base %s: %w", ref, err)
		}
		frontier = append(frontier, ds...)
	}
	seen := map[string]bool{}
	for _, d := range frontier {
		seen[d] = true
	}
	ids := map[int64]bool{}
	for depth := 0; len(frontier) > 0; depth++ {
		if depth == maxBaseDepth {
			return nil, fmt.Errorf("%w: images built on the base nest deeper than %d bases", hallmark.ErrTooLarge, maxBaseDepth)
		}
		var next []string
		for batch := range slices.Chunk(frontier, builtOnBatch) {
			type child struct {
				id     int64
				digest string
			}
			children, err := queryAll(ctx, s, `SELECT i.id, i.digest FROM image_bases b JOIN images i ON i.id = b.image_id WHERE b.digest IN (`+marks(len(batch))+`)`,
				func(rows *sql.Rows) (child, error) {
					var c child
					return c, rows.Scan(&c.id, &c.digest)
				}, anyArgs(batch)...)
			if err != nil {
				return nil, fmt.Errorf("find images built on a base: %w", err)
			}
			for _, c := range children {
				ids[c.id] = true
				if !seen[c.digest] {
					seen[c.digest] = true
					next = append(next, c.digest)
				}
			}
			if len(ids) > maxBuiltOn {
				return nil, fmt.Errorf("%w: more than %d images are built on the base: narrow the query with a repository", hallmark.ErrTooLarge, maxBuiltOn)
			}
		}
		frontier = next
	}
	out := make([]int64, 0, len(ids))
	for id := range ids {
		if id > after {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}

// marks is n comma-separated placeholders.
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// anyArgs is vs as query arguments, for the placeholders of marks.
func anyArgs[T any](vs []T) []any {
	args := make([]any, len(vs))
	for i, v := range vs {
		args[i] = v
	}
	return args
}
