package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Image is an image the gateway built or imported.
type Image struct {
	Repository string          `json:"repository"`
	Digest     hallmark.Digest `json:"digest"`
	// BuildID is the first build, or import, that recorded it.
	BuildID string    `json:"buildID,omitempty"`
	Created time.Time `json:"created"`
	// Tags are the tags that point at it now.
	Tags []string `json:"tags,omitempty"`
	// Bases are the base images it was built on.
	Bases []Base `json:"bases,omitempty"`

	id int64
}

// ImageQuery selects images. Filters combine with AND.
type ImageQuery struct {
	// Readable says which repositories the caller may read; images of
	// others are never returned. Nil reads nothing.
	Readable func(repository string) bool
	// Repository keeps the images of one repository.
	Repository string
	// BaseDigest and BaseRef keep the images built on a base, directly or
	// through a base of a base: the base with this digest, or any digest
	// that a FROM naming BaseRef ("registry/repository:tag", normalized)
	// was pinned to.
	BaseDigest hallmark.Digest
	BaseRef    string
	// Package keeps the images whose SBOM lists the package: a name
	// (every ecosystem), optionally with a version, or a purl whose type,
	// namespace, name and version (if any) must match; qualifiers are
	// ignored.
	Package *Package
	// Stale keeps the images that a tag points at now and that were built
	// on a base reference (Ref) whose tag now points elsewhere (Digest).
	Stale []Base
	Page
}

// maxStale bounds ImageQuery.Stale.
const maxStale = 1000

// Images returns a page of images in the order they were first recorded,
// and the cursor of the next page ("" after the last).
func (s *DB) Images(ctx context.Context, q ImageQuery) ([]Image, string, error) {
	limit, err := q.limit()
	if err != nil {
		return nil, "", err
	}
	c, err := q.decode("images")
	if err != nil {
		return nil, "", err
	}
	if len(q.Stale) > maxStale {
		return nil, "", fmt.Errorf("%w: %d stale base references, over the limit of %d", hallmark.ErrInvalid, len(q.Stale), maxStale)
	}
	query, args := s.imagesQuery(q, limit)
	can := readable(q.Readable)
	last := c.ID
	out, more, err := collect(limit, func() (*sql.Rows, error) {
		args[len(args)-2] = last
		return s.db.QueryContext(ctx, query, args...)
	}, func(rows *sql.Rows) (Image, bool, error) {
		var im Image
		var digest string
		var created int64
		var key int64
		if err := rows.Scan(&im.id, &im.Repository, &digest, &im.BuildID, &created, &key); err != nil {
			return im, false, err
		}
		last = im.id
		im.Digest, im.Created = hallmark.Digest(digest), fromMicros(created)
		return im, can(im.Repository), nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("query images: %w", err)
	}
	if err := s.fillImages(ctx, out); err != nil {
		return nil, "", err
	}
	next := ""
	if more {
		next = cursor{Query: "images", ID: last}.encode()
	}
	return out, next, nil
}

// imagesQuery writes q as SQL whose last two arguments are the cursor
// (the last image id seen) and the page size. The most selective filter
// drives the scan, in image id order: the base closure, or the package
// index (package_id, image_id), so that a page reads about a page of rows.
func (s *DB) imagesQuery(q ImageQuery, limit int) (string, []any) {
	var (
		with, from string
		where      []string
		args       []any
		order      = "i.id"
	)
	from = "images i"
	if q.BaseDigest != "" || q.BaseRef != "" {
		// Every image built on the base, then on those images, and so on.
		with = `WITH RECURSIVE built_on (id, digest) AS (
			SELECT i0.id, i0.digest FROM image_bases b0 JOIN images i0 ON i0.id = b0.image_id WHERE b0.digest = ?
			UNION
			SELECT i0.id, i0.digest FROM image_bases b0 JOIN images i0 ON i0.id = b0.image_id WHERE b0.ref = ?
			UNION
			SELECT i1.id, i1.digest FROM built_on bo JOIN image_bases b1 ON b1.digest = bo.digest JOIN images i1 ON i1.id = b1.image_id
		) `
		args = append(args, string(q.BaseDigest), q.BaseRef)
		from, order = "built_on bo JOIN images i ON i.id = bo.id", "bo.id"
	}
	if p := q.Package; p != nil {
		cond := []string{"p.name = ?"}
		pargs := []any{p.Name}
		for _, f := range []struct{ col, v string }{{"p.version", p.Version}, {"p.type", p.Type}, {"p.namespace", p.Namespace}} {
			if f.v != "" {
				cond, pargs = append(cond, f.col+" = ?"), append(pargs, f.v)
			}
		}
		if p.Type != "" && p.Namespace == "" {
			cond = append(cond, "p.namespace = ''")
		}
		from = "image_packages ip JOIN " + from + " ON i.id = ip.image_id"
		if order == "i.id" {
			order = "ip.image_id"
		}
		where = append(where, "ip.package_id IN (SELECT p.id FROM packages p WHERE "+strings.Join(cond, " AND ")+")")
		args = append(args, pargs...)
	}
	if q.Repository != "" {
		where, args = append(where, "i.repository = ?"), append(args, q.Repository)
	}
	if len(q.Stale) > 0 {
		var ors []string
		for _, b := range q.Stale {
			ors = append(ors, "(b.ref = ? AND b.digest <> ?)")
			args = append(args, b.Ref, string(b.Digest))
		}
		where = append(where, "EXISTS (SELECT 1 FROM image_bases b WHERE b.image_id = i.id AND ("+strings.Join(ors, " OR ")+"))",
			"EXISTS (SELECT 1 FROM tags t WHERE t.repository = i.repository AND t.digest = i.digest)")
	}
	where = append(where, order+" > ?")
	args = append(args, int64(0), limit)
	return s.q(with + `SELECT DISTINCT i.id, i.repository, i.digest, i.build_id, i.created, ` + order + ` FROM ` + from +
		` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + order + ` LIMIT ?`), args
}

// fillImages adds each image's tags and bases.
func (s *DB) fillImages(ctx context.Context, images []Image) error {
	for i := range images {
		im := &images[i]
		var err error
		im.Tags, err = queryAll(ctx, s, `SELECT tag FROM tags WHERE repository = ? AND digest = ? ORDER BY tag`,
			func(rows *sql.Rows) (string, error) {
				var t string
				return t, rows.Scan(&t)
			}, im.Repository, string(im.Digest))
		if err != nil {
			return fmt.Errorf("read tags: %w", err)
		}
		if im.Bases, err = s.bases(ctx, im.id); err != nil {
			return err
		}
	}
	return nil
}

func (s *DB) bases(ctx context.Context, imageID int64) ([]Base, error) {
	out, err := queryAll(ctx, s, `SELECT ref, repository, digest, runtime FROM image_bases WHERE image_id = ? ORDER BY runtime DESC, ref`,
		func(rows *sql.Rows) (Base, error) {
			var b Base
			var digest string
			var runtime int
			err := rows.Scan(&b.Ref, &b.Repository, &digest, &runtime)
			b.Digest, b.Runtime = hallmark.Digest(digest), runtime == 1
			return b, err
		}, imageID)
	if err != nil {
		return nil, fmt.Errorf("read bases: %w", err)
	}
	return out, nil
}

// BaseRefs lists the distinct base references with a tag that recorded
// images were built on, and the digests they were pinned to: what to
// resolve again to find stale images.
func (s *DB) BaseRefs(ctx context.Context) (map[string][]hallmark.Digest, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT ref, digest FROM image_bases ORDER BY ref, digest`)
	if err != nil {
		return nil, fmt.Errorf("read base references: %w", err)
	}
	defer rows.Close()
	out := map[string][]hallmark.Digest{}
	for rows.Next() {
		var ref, digest string
		if err := rows.Scan(&ref, &digest); err != nil {
			return nil, err
		}
		if !strings.Contains(ref, "@") {
			out[ref] = append(out[ref], hallmark.Digest(digest))
		}
	}
	return out, rows.Err()
}

// Tag returns the digest a tag points at, as the store last recorded it.
func (s *DB) Tag(ctx context.Context, repository, tag string) (hallmark.Digest, error) {
	var d string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT digest FROM tags WHERE repository = ? AND tag = ?`), repository, tag).Scan(&d)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("tag %s:%s: %w", repository, tag, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read tag: %w", err)
	}
	return hallmark.Digest(d), nil
}
