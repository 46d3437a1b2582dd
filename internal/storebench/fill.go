package storebench

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Size is a data set's size: images, distinct packages, and packages
// per image. Every image is built on one of 20 bases, so a data set has
// more than 20 images.
type Size struct {
	Images, Packages, PerImage int
}

// Full is the benchmarks' data set: 10,000 images, 20,000 packages, 500
// per image.
var Full = Size{Images: 10_000, Packages: 20_000, PerImage: 500}

// epoch is when the data set's first image was created, in microseconds
// since the epoch (2026-12-01); the others follow a second apart.
const epoch int64 = 1_796_083_200_000_000

// Version names the data set; a cached store filled by another version is
// filled again.
const Version = 3

// Digest is the digest of the data set's nth object of a kind: "a" for
// images.
func Digest(kind string, n int) string {
	return "sha256:" + fmt.Sprintf("%s%0*d", kind, 63, n)[:64]
}

// Fill writes a data set of size n into db, an empty store of the current
// schema (SQLite or PostgreSQL), logging statements slower than a second
// to logf.
func Fill(ctx context.Context, db *sql.DB, n Size, logf func(format string, args ...any)) error {
	if n.Images <= 20 || n.PerImage < 2 || n.Packages <= n.PerImage {
		return fmt.Errorf("data set %+v: more than 20 images, and more packages than per image, please", n)
	}
	start := time.Now()
	for _, q := range statements(n) {
		t := time.Now()
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", firstLine(q), err)
		}
		if d := time.Since(t); d > time.Second {
			logf("%s: %s", firstLine(q), d.Round(time.Millisecond))
		}
	}
	var links int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM image_packages`).Scan(&links); err != nil {
		return err
	}
	logf("generated %d images, %d package links in %s", n.Images, links, time.Since(start).Round(time.Millisecond))
	return nil
}

// statements writes the data set, in order.
func statements(n Size) []string {
	series := func(n int) string {
		return fmt.Sprintf("WITH RECURSIVE s (k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < %d) ", n)
	}
	out := []string{
		series(n.Packages) + `INSERT INTO packages (purl, type, namespace, name, version, source)
			SELECT 'pkg:deb/debian/pkg-' || k || '@1.' || (k % 7), 'deb', 'debian', 'pkg-' || k, '1.' || (k % 7), 'pkg-' || k FROM s`,
		`UPDATE packages SET purl = 'pkg:deb/debian/openssl@3.0.11', name = 'openssl', version = '3.0.11', source = 'openssl' WHERE id = 1`,
	}
	// Images: 2 roots' children (the 10 built bases), then the rest.
	var rows []string
	for i := 1; i <= n.Images; i++ {
		rows = append(rows, fmt.Sprintf("('reg.example/team-%d/app-%d', '%s', 'b%d', %d)", i%100, i, Digest("a", i), i, epoch+int64(i)*1_000_000))
		if len(rows) == 1000 || i == n.Images {
			out = append(out, `INSERT INTO images (repository, digest, build_id, created) VALUES `+strings.Join(rows, ", "))
			rows = rows[:0]
		}
	}
	return append(out,
		// Images 1–10 are the built bases, on root r1 or r2; the others
		// on one of the 20 bases: b1–b10 (images 1–10) or external
		// e11–e20.
		`INSERT INTO image_bases (image_id, ref, repository, digest, runtime)
			SELECT id, 'reg.example/root:' || (id % 2), 'reg.example/root', `+digestSQL("f", "id % 2")+`, 1 FROM images WHERE id <= 10`,
		`INSERT INTO image_bases (image_id, ref, repository, digest, runtime)
			SELECT i.id, CASE WHEN i.id % 20 < 10 THEN 'reg.example/team-' || ((i.id % 20 + 1) % 100) || '/app-' || (i.id % 20 + 1) || ':latest' ELSE 'reg.example/ext:' || (i.id % 20) END,
				'reg.example/base', CASE WHEN i.id % 20 < 10 THEN b.digest ELSE `+digestSQL("e", "i.id % 20")+` END, 1
			FROM images i JOIN images b ON b.id = i.id % 20 + 1 WHERE i.id > 10`,
		// In primary-key order, with the second index built afterwards: a
		// fraction of the time of random inserts into two indexes.
		`DROP INDEX image_packages_image`,
		series(n.PerImage-1)+fmt.Sprintf(`INSERT INTO image_packages (package_id, image_id)
			SELECT DISTINCT (i.id * 7919 + s.k * 104729) %% %d + 2 AS p, i.id FROM images i, s WHERE true ORDER BY p, i.id`, n.Packages-1),
		`INSERT INTO image_packages (package_id, image_id) SELECT 1, id FROM images WHERE id % 5 <> 0 ORDER BY id`,
		`CREATE INDEX image_packages_image ON image_packages (image_id)`,
		// A build, a tag and an audit record per image.
		`INSERT INTO builds (id, kind, issuer, subject, repository, digest, outcome, started, finished, record)
			SELECT build_id, 'build', 'https://ci.example', 'repo:team-' || (id % 100), repository, digest, 'succeeded', created, created + 42000000,
				'{"id":"' || build_id || '","kind":"build","requester":{"issuer":"https://ci.example","subject":"repo:team-' || (id % 100) ||
				'"},"repository":"' || repository || '","source":{"gitURL":"https://git.example/app","dockerfile":"Dockerfile"},"digest":"' || digest ||
				'","started":"2026-12-01T00:00:00Z","finished":"2026-12-01T00:00:42Z","outcome":"succeeded","worker":"buildkitd-0"}'
			FROM images`,
		`INSERT INTO tags (repository, tag, digest, updated) SELECT repository, 'v1', digest, created FROM images`,
		`INSERT INTO audit (chain, seq, at, kind, actor, repository, digest, subject, outcome, detail, prev_hash, hash)
			SELECT 'events', id, created + 42000000, 'build', 'https://ci.example repo:team-' || (id % 100), repository, digest, build_id, 'succeeded',
				'{"source":{"gitURL":"https://git.example/app"}}', '', '' FROM images`,
		`ANALYZE`,
	)
}

// RootDigest is the digest of root n (0 or 1), on which the 10 built bases
// are built.
func RootDigest(n int) string { return Digest("f", n) }

// digestSQL is SQL for Digest(kind, expr), expr an integer expression.
func digestSQL(kind, expr string) string {
	pad := "sha256:" + kind + strings.Repeat("0", 63)
	return fmt.Sprintf("(substr('%s', 1, %d - length(CAST(%s AS TEXT))) || CAST(%s AS TEXT))", pad, len(pad), expr, expr)
}

func firstLine(q string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(q), "\n")
	return l
}
