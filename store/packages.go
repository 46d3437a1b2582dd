package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"

	hallmark "github.com/hallmark-dev/hallmark"
)

// packageBatch is how many packages one statement inserts: six parameters
// each stay far below both databases' limits.
const packageBatch = 500

// PackageOf reads a package URL into a Package.
func PackageOf(purl string) (Package, error) {
	u, err := packageurl.FromString(purl)
	if err != nil {
		return Package{}, fmt.Errorf("%w: package url %q: %w", hallmark.ErrInvalid, purl, err)
	}
	p := Package{PURL: purl, Type: u.Type, Namespace: u.Namespace, Name: u.Name, Version: u.Version}
	if up := u.Qualifiers.Map()["upstream"]; up != "" {
		p.Source, _, _ = strings.Cut(up, "@")
	} else if u.Type == packageurl.TypeDebian || u.Type == packageurl.TypeApk || u.Type == packageurl.TypeRPM {
		p.Source = u.Name
	}
	return p, nil
}

// indexPackages links an image to its packages, adding those not seen
// before, in batches.
func (s *DB) indexPackages(ctx context.Context, tx *sql.Tx, imageID int64, pkgs []Package) error {
	for start := 0; start < len(pkgs); start += packageBatch {
		batch := pkgs[start:min(start+packageBatch, len(pkgs))]
		var (
			sb   strings.Builder
			args []any
		)
		sb.WriteString(`INSERT INTO packages (purl, type, namespace, name, version, source) VALUES `)
		for i, p := range batch {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?)")
			args = append(args, p.PURL, p.Type, p.Namespace, p.Name, p.Version, p.Source)
		}
		sb.WriteString(` ON CONFLICT (purl) DO NOTHING`)
		if _, err := tx.ExecContext(ctx, s.q(sb.String()), args...); err != nil {
			return fmt.Errorf("add packages: %w", err)
		}
		sb.Reset()
		args = args[:0]
		args = append(args, imageID)
		sb.WriteString(`INSERT INTO image_packages (package_id, image_id) SELECT id, ? FROM packages WHERE purl IN (`)
		for i, p := range batch {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("?")
			args = append(args, p.PURL)
		}
		sb.WriteString(`) ON CONFLICT (package_id, image_id) DO NOTHING`)
		if _, err := tx.ExecContext(ctx, s.q(sb.String()), args...); err != nil {
			return fmt.Errorf("link packages: %w", err)
		}
	}
	return nil
}
