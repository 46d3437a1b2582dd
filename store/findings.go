package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
)

// FindingData is what a scanner says of one advisory on one package.
type FindingData struct {
	// Advisory is the advisory's id; Aliases the other ids it is known by.
	Advisory string   `json:"advisory"`
	Aliases  []string `json:"aliases,omitempty"`
	// Severity is its level: critical, high, medium, low or unknown.
	Severity string `json:"severity"`
	// Excepted says an exception of the policy accepts it.
	Excepted bool `json:"excepted,omitempty"`
	// Detail is the scanner's finding as JSON (installed and fixed
	// versions, scores, the exception), kept as given.
	Detail json.RawMessage `json:"detail,omitempty"`
}

// Matcher matches package URLs against advisories: the findings of each
// purl that has any.
type Matcher func(ctx context.Context, purls []string) (map[string][]FindingData, error)

// FindingSync says what one SyncFindings did.
type FindingSync struct {
	// Scope is the images matched: all up to Watermark, or those recorded
	// after Since.
	Since, Watermark int64
	// Packages are the distinct packages matched; Affected those with a
	// finding.
	Packages, Affected int
	// New are findings recorded (or reopened); Changed those whose
	// severity, exception or detail changed; Resolved those no longer
	// found; Open the open findings in scope afterwards.
	New, Changed, Resolved, Open int
	// Shipped are the images with a new, changed or resolved finding that
	// a tag points at now, in image order.
	Shipped []ImageRef
}

// ImageRef names a recorded image.
type ImageRef struct {
	Repository string          `json:"repository"`
	Digest     hallmark.Digest `json:"digest"`
}

// findingKey names one finding.
type findingKey struct {
	image          int64
	advisory, purl string
}

// openFinding is a stored open finding.
type openFinding struct {
	id       int64
	severity string
	excepted bool
	detail   string
}

// findingBatch bounds the rows of one statement (9 parameters each).
const findingBatch = 400

// SyncFindings matches the packages of the recorded images with match and
// records what changed: findings not seen before (first seen now), those
// whose data changed, and open findings that match no longer finds
// (resolved now; they reopen if found again, keeping their first-seen
// time). since = 0 re-matches every image (after the advisories changed);
// since > 0 only the images recorded after the image id since (a
// FindingSync's Watermark). Each distinct package is matched once, however
// many images hold it. Replicas may sync concurrently: the outcome is the
// same.
func (s *DB) SyncFindings(ctx context.Context, since int64, match Matcher) (FindingSync, error) {
	sync := FindingSync{Since: since}
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM images`).Scan(&sync.Watermark); err != nil {
		return sync, fmt.Errorf("sync findings: %w", err)
	}
	if sync.Watermark <= since {
		sync.Watermark = since
		return sync, nil
	}
	type pkg struct {
		id   int64
		purl string
	}
	query := `SELECT id, purl FROM packages ORDER BY id`
	args := []any{}
	if since > 0 {
		query = `SELECT DISTINCT p.id, p.purl FROM image_packages ip JOIN packages p ON p.id = ip.package_id
			WHERE ip.image_id > ? AND ip.image_id <= ? ORDER BY p.id`
		args = []any{since, sync.Watermark}
	}
	pkgs, err := queryAll(ctx, s, query, func(rows *sql.Rows) (pkg, error) {
		var p pkg
		return p, rows.Scan(&p.id, &p.purl)
	}, args...)
	if err != nil {
		return sync, fmt.Errorf("sync findings: read packages: %w", err)
	}
	sync.Packages = len(pkgs)
	purls := make([]string, len(pkgs))
	idOf := make(map[string]int64, len(pkgs))
	for i, p := range pkgs {
		purls[i], idOf[p.purl] = p.purl, p.id
	}
	found, err := match(ctx, purls)
	if err != nil {
		return sync, fmt.Errorf("sync findings: %w", err)
	}
	sync.Affected = len(found)
	want, err := s.wantedFindings(ctx, since, sync.Watermark, found, idOf)
	if err != nil {
		return sync, err
	}
	open, err := s.openFindings(ctx, since, sync.Watermark)
	if err != nil {
		return sync, err
	}
	var upsert []findingKey
	changed := map[int64]bool{}
	for k, d := range want {
		o, ok := open[k]
		switch {
		case !ok:
			sync.New++
		case o.severity != d.Severity || o.excepted != d.Excepted || o.detail != string(detailJSON(d)):
			sync.Changed++
		default:
			continue
		}
		upsert = append(upsert, k)
		changed[k.image] = true
	}
	var resolved []int64
	for k, o := range open {
		if _, ok := want[k]; !ok {
			resolved = append(resolved, o.id)
			changed[k.image] = true
		}
	}
	sync.Resolved, sync.Open = len(resolved), len(want)
	slices.SortFunc(upsert, cmpKeys)
	slices.Sort(resolved)
	now := micros(s.now())
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.upsertFindings(ctx, tx, upsert, want, now); err != nil {
			return err
		}
		if err := s.resolveFindings(ctx, tx, resolved, now); err != nil {
			return err
		}
		return s.recordAliases(ctx, tx, found)
	})
	if err != nil {
		return sync, fmt.Errorf("sync findings: %w", err)
	}
	if sync.Shipped, err = s.taggedImages(ctx, slices.Sorted(maps.Keys(changed))); err != nil {
		return sync, fmt.Errorf("sync findings: %w", err)
	}
	return sync, nil
}

// taggedImages returns the images of ids that a tag points at now.
func (s *DB) taggedImages(ctx context.Context, ids []int64) ([]ImageRef, error) {
	var out []ImageRef
	for batch := range slices.Chunk(ids, packageBatch) {
		refs, err := queryAll(ctx, s, `SELECT i.repository, i.digest FROM images i WHERE i.id IN (`+marks(len(batch))+`)
			AND EXISTS (SELECT 1 FROM tags t WHERE t.repository = i.repository AND t.digest = i.digest) ORDER BY i.id`,
			func(rows *sql.Rows) (ImageRef, error) {
				var r ImageRef
				var d string
				err := rows.Scan(&r.Repository, &d)
				r.Digest = hallmark.Digest(d)
				return r, err
			}, anyArgs(batch)...)
		if err != nil {
			return nil, fmt.Errorf("read tagged images: %w", err)
		}
		out = append(out, refs...)
	}
	return out, nil
}

// ImagePackages returns the package URLs the SBOMs of a recorded image
// list, in no particular order; none for an image never recorded.
func (s *DB) ImagePackages(ctx context.Context, repository string, digest hallmark.Digest) ([]string, error) {
	purls, err := queryAll(ctx, s, `SELECT p.purl FROM image_packages ip JOIN packages p ON p.id = ip.package_id
		WHERE ip.image_id = (SELECT id FROM images WHERE repository = ? AND digest = ?)`, func(rows *sql.Rows) (string, error) {
		var p string
		return p, rows.Scan(&p)
	}, repository, string(digest))
	if err != nil {
		return nil, fmt.Errorf("read packages of image: %w", err)
	}
	return purls, nil
}

// cmpKeys orders findings by image, advisory and package.
func cmpKeys(a, b findingKey) int {
	return cmp.Or(cmp.Compare(a.image, b.image), strings.Compare(a.advisory, b.advisory), strings.Compare(a.purl, b.purl))
}

// detailJSON is the detail column of a finding.
func detailJSON(d FindingData) []byte {
	if len(d.Detail) == 0 {
		return []byte("{}")
	}
	return d.Detail
}

// wantedFindings fans the findings of each package out to the images in
// scope that hold it.
func (s *DB) wantedFindings(ctx context.Context, since, watermark int64, found map[string][]FindingData, idOf map[string]int64) (map[findingKey]FindingData, error) {
	want := map[findingKey]FindingData{}
	purlOf := make(map[int64]string, len(found))
	ids := make([]int64, 0, len(found))
	for purl := range found {
		id := idOf[purl]
		purlOf[id] = purl
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for batch := range slices.Chunk(ids, packageBatch) {
		args := append(anyArgs(batch), since, watermark)
		type link struct{ pkg, image int64 }
		links, err := queryAll(ctx, s, `SELECT package_id, image_id FROM image_packages WHERE package_id IN (`+marks(len(batch))+`)
			AND image_id > ? AND image_id <= ?`, func(rows *sql.Rows) (link, error) {
			var l link
			return l, rows.Scan(&l.pkg, &l.image)
		}, args...)
		if err != nil {
			return nil, fmt.Errorf("sync findings: read the images of packages: %w", err)
		}
		for _, l := range links {
			purl := purlOf[l.pkg]
			for _, d := range found[purl] {
				want[findingKey{l.image, d.Advisory, purl}] = d
			}
		}
	}
	return want, nil
}

// openFindings reads the open findings of the images in scope.
func (s *DB) openFindings(ctx context.Context, since, watermark int64) (map[findingKey]openFinding, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, image_id, advisory, purl, severity, excepted, detail FROM vuln_findings
		WHERE resolved = 0 AND image_id > ? AND image_id <= ?`), since, watermark)
	if err != nil {
		return nil, fmt.Errorf("sync findings: read open findings: %w", err)
	}
	defer rows.Close()
	open := map[findingKey]openFinding{}
	for rows.Next() {
		var (
			k        findingKey
			o        openFinding
			excepted int
		)
		if err := rows.Scan(&o.id, &k.image, &k.advisory, &k.purl, &o.severity, &excepted, &o.detail); err != nil {
			return nil, fmt.Errorf("sync findings: read open findings: %w", err)
		}
		o.excepted = excepted != 0
		open[k] = o
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sync findings: read open findings: %w", err)
	}
	return open, nil
}

// upsertFindings records new findings, reopens resolved ones and updates
// changed ones, in batches.
func (s *DB) upsertFindings(ctx context.Context, tx *sql.Tx, keys []findingKey, want map[findingKey]FindingData, now int64) error {
	for batch := range slices.Chunk(keys, findingBatch) {
		var (
			sb   strings.Builder
			args []any
		)
		sb.WriteString(`INSERT INTO vuln_findings (image_id, advisory, purl, severity, excepted, detail, first_seen, resolved) VALUES `)
		for i, k := range batch {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?, ?, 0)")
			d := want[k]
			args = append(args, k.image, k.advisory, k.purl, d.Severity, boolInt(d.Excepted), string(detailJSON(d)), now)
		}
		sb.WriteString(` ON CONFLICT (image_id, advisory, purl) DO UPDATE SET severity = excluded.severity,
			excepted = excluded.excepted, detail = excluded.detail, resolved = 0`)
		if _, err := tx.ExecContext(ctx, s.q(sb.String()), args...); err != nil {
			return fmt.Errorf("record findings: %w", err)
		}
	}
	return nil
}

// resolveFindings marks findings resolved.
func (s *DB) resolveFindings(ctx context.Context, tx *sql.Tx, ids []int64, now int64) error {
	for batch := range slices.Chunk(ids, packageBatch) {
		args := append([]any{now}, anyArgs(batch)...)
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE vuln_findings SET resolved = ? WHERE resolved = 0 AND id IN (`+marks(len(batch))+`)`), args...); err != nil {
			return fmt.Errorf("resolve findings: %w", err)
		}
	}
	return nil
}

// recordAliases keeps the ids each advisory found is known by.
func (s *DB) recordAliases(ctx context.Context, tx *sql.Tx, found map[string][]FindingData) error {
	seen := map[[2]string]bool{}
	var pairs [][2]string
	for _, ds := range found {
		for _, d := range ds {
			for _, id := range append([]string{d.Advisory}, d.Aliases...) {
				p := [2]string{id, d.Advisory}
				if !seen[p] {
					seen[p] = true
					pairs = append(pairs, p)
				}
			}
		}
	}
	slices.SortFunc(pairs, func(a, b [2]string) int {
		return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1]))
	})
	for batch := range slices.Chunk(pairs, packageBatch) {
		var (
			sb   strings.Builder
			args []any
		)
		sb.WriteString(`INSERT INTO vuln_ids (id, advisory) VALUES `)
		for i, p := range batch {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?)")
			args = append(args, p[0], p[1])
		}
		sb.WriteString(` ON CONFLICT (id, advisory) DO NOTHING`)
		if _, err := tx.ExecContext(ctx, s.q(sb.String()), args...); err != nil {
			return fmt.Errorf("record advisory ids: %w", err)
		}
	}
	return nil
}
