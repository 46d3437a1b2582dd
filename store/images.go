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
	// Verdict keeps the images whose newest recorded verification
	// decision (KindVerify, under any policy) has this outcome:
	// OutcomeAllowed or OutcomeDenied.
	Verdict string
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
	if q.Verdict != "" && q.Verdict != OutcomeAllowed && q.Verdict != OutcomeDenied {
		return nil, "", fmt.Errorf("%w: verdict %q: want %s or %s", hallmark.ErrInvalid, q.Verdict, OutcomeAllowed, OutcomeDenied)
	}
	var baseIDs []int64
	if q.BaseDigest != "" || q.BaseRef != "" {
		if baseIDs, err = s.builtOn(ctx, q.BaseDigest, q.BaseRef, c.ID); err != nil {
			return nil, "", err
		}
		if len(baseIDs) == 0 {
			return nil, "", nil
		}
	}
	var pkgIDs []int64
	if q.Package != nil {
		if pkgIDs, err = s.packageIDs(ctx, *q.Package); err != nil {
			return nil, "", err
		}
		if len(pkgIDs) == 0 {
			return nil, "", nil
		}
	}
	query, args := s.imagesQuery(q, baseIDs, pkgIDs, limit)
	can := readable(q.Readable)
	last := c.ID
	out, more, err := collect(limit, func() (*sql.Rows, error) {
		args[len(args)-2] = last
		return s.db.QueryContext(ctx, query, args...)
	}, func(rows *sql.Rows) (Image, bool, error) {
		var im Image
		var digest string
		var created int64
		if err := rows.Scan(&im.id, &im.Repository, &digest, &im.BuildID, &created); err != nil {
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

// maxPackageIDs bounds the packages one --package filter may match (a
// name in every version and ecosystem).
const maxPackageIDs = 10_000

// packageIDs returns the ids of the packages p matches.
func (s *DB) packageIDs(ctx context.Context, p Package) ([]int64, error) {
	cond, args := []string{"name = ?"}, []any{p.Name}
	for _, f := range []struct{ col, v string }{{"version", p.Version}, {"type", p.Type}, {"namespace", p.Namespace}} {
		if f.v != "" {
			cond, args = append(cond, f.col+" = ?"), append(args, f.v)
		}
	}
	if p.Type != "" && p.Namespace == "" {
		cond = append(cond, "namespace = ''")
	}
	ids, err := queryAll(ctx, s, `SELECT id FROM packages WHERE `+strings.Join(cond, " AND ")+` ORDER BY id LIMIT ?`,
		func(rows *sql.Rows) (int64, error) {
			var id int64
			return id, rows.Scan(&id)
		}, append(args, maxPackageIDs+1)...)
	if err != nil {
		return nil, fmt.Errorf("find packages: %w", err)
	}
	if len(ids) > maxPackageIDs {
		return nil, fmt.Errorf("%w: package %q matches more than %d packages: name a version or a purl", hallmark.ErrInvalid, p.Name, maxPackageIDs)
	}
	return ids, nil
}

// imagesQuery writes q as SQL whose last two arguments are the cursor
// (the last image id seen) and the page size. The most selective filter
// drives the scan, in image id order, so that a page reads about a page
// of rows: the images built on the base (baseIDs, found beforehand), or
// for one package its index (package_id, image_id). No filter yields an
// image twice, so no DISTINCT makes the database sort every match before
// the page is cut.
func (s *DB) imagesQuery(q ImageQuery, baseIDs, pkgIDs []int64, limit int) (string, []any) {
	var (
		where []string
		args  []any
		from  = "images i"
		order = "i.id"
	)
	if baseIDs != nil {
		where = append(where, "i.id IN ("+marks(len(baseIDs))+")")
		for _, id := range baseIDs {
			args = append(args, id)
		}
	}
	switch {
	case len(pkgIDs) == 1 && baseIDs == nil:
		from, order = "image_packages ip JOIN images i ON i.id = ip.image_id", "ip.image_id"
		where, args = append(where, "ip.package_id = ?"), append(args, pkgIDs[0])
	case len(pkgIDs) > 0:
		where = append(where, "i.id IN (SELECT ip.image_id FROM image_packages ip WHERE ip.package_id IN ("+marks(len(pkgIDs))+"))")
		for _, id := range pkgIDs {
			args = append(args, id)
		}
	}
	if q.Repository != "" {
		where, args = append(where, "i.repository = ?"), append(args, q.Repository)
	}
	if q.Verdict != "" {
		// The image's own audit records, through audit_digest.
		where = append(where, "(SELECT a.outcome FROM audit a WHERE a.digest = i.digest AND a.repository = i.repository AND a.kind = ? ORDER BY a.id DESC LIMIT 1) = ?")
		args = append(args, KindVerify, q.Verdict)
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
	return s.q(`SELECT i.id, i.repository, i.digest, i.build_id, i.created FROM ` + from +
		` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + order + ` LIMIT ?`), args
}

// fillImages adds each image's tags and bases, in two queries.
func (s *DB) fillImages(ctx context.Context, images []Image) error {
	if len(images) == 0 {
		return nil
	}
	byID := make(map[int64]*Image, len(images))
	args := make([]any, len(images))
	for i := range images {
		byID[images[i].id], args[i] = &images[i], images[i].id
	}
	type tag struct {
		id  int64
		tag string
	}
	tags, err := queryAll(ctx, s, `SELECT i.id, t.tag FROM images i JOIN tags t ON t.repository = i.repository AND t.digest = i.digest
		WHERE i.id IN (`+marks(len(args))+`) ORDER BY t.tag`,
		func(rows *sql.Rows) (tag, error) {
			var t tag
			return t, rows.Scan(&t.id, &t.tag)
		}, args...)
	if err != nil {
		return fmt.Errorf("read tags: %w", err)
	}
	for _, t := range tags {
		byID[t.id].Tags = append(byID[t.id].Tags, t.tag)
	}
	type base struct {
		id int64
		Base
	}
	bases, err := queryAll(ctx, s, `SELECT image_id, ref, repository, digest, runtime FROM image_bases
		WHERE image_id IN (`+marks(len(args))+`) ORDER BY runtime DESC, ref`,
		func(rows *sql.Rows) (base, error) {
			var b base
			var digest string
			var runtime int
			err := rows.Scan(&b.id, &b.Ref, &b.Repository, &digest, &runtime)
			b.Digest, b.Runtime = hallmark.Digest(digest), runtime == 1
			return b, err
		}, args...)
	if err != nil {
		return fmt.Errorf("read bases: %w", err)
	}
	for _, b := range bases {
		byID[b.id].Bases = append(byID[b.id].Bases, b.Base)
	}
	return nil
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
