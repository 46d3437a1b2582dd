package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// migrations are the schema's versions, in order; migration i brings the
// schema to version i+1. Never edit one that has shipped: append. {{id}}
// is the dialect's auto-assigned integer key; everything else is SQL that
// SQLite and PostgreSQL both accept. Times are microseconds since the
// epoch (BIGINT), booleans 0 or 1, lists and records JSON text.
var migrations = []string{
	`CREATE TABLE builds (
		id TEXT PRIMARY KEY,
		kind TEXT NOT NULL,
		issuer TEXT NOT NULL,
		subject TEXT NOT NULL,
		repository TEXT NOT NULL,
		digest TEXT NOT NULL,
		outcome TEXT NOT NULL,
		started BIGINT NOT NULL,
		finished BIGINT NOT NULL,
		record TEXT NOT NULL
	);
	CREATE INDEX builds_started ON builds (started, id);
	CREATE INDEX builds_repository ON builds (repository, started, id);
	CREATE INDEX builds_subject ON builds (subject, started, id);
	CREATE INDEX builds_digest ON builds (digest);

	CREATE TABLE images (
		id {{id}},
		repository TEXT NOT NULL,
		digest TEXT NOT NULL,
		build_id TEXT NOT NULL,
		created BIGINT NOT NULL,
		UNIQUE (repository, digest)
	);
	CREATE INDEX images_digest ON images (digest);

	CREATE TABLE image_bases (
		image_id BIGINT NOT NULL REFERENCES images (id),
		ref TEXT NOT NULL,
		repository TEXT NOT NULL,
		digest TEXT NOT NULL,
		runtime INTEGER NOT NULL,
		PRIMARY KEY (image_id, ref, digest)
	);
	CREATE INDEX image_bases_digest ON image_bases (digest);
	CREATE INDEX image_bases_ref ON image_bases (ref);

	CREATE TABLE tags (
		repository TEXT NOT NULL,
		tag TEXT NOT NULL,
		digest TEXT NOT NULL,
		updated BIGINT NOT NULL,
		PRIMARY KEY (repository, tag)
	);
	CREATE INDEX tags_digest ON tags (digest);

	CREATE TABLE packages (
		id {{id}},
		purl TEXT NOT NULL UNIQUE,
		type TEXT NOT NULL,
		namespace TEXT NOT NULL,
		name TEXT NOT NULL,
		version TEXT NOT NULL,
		source TEXT NOT NULL
	);
	CREATE INDEX packages_name ON packages (name, version);

	CREATE TABLE image_packages (
		package_id BIGINT NOT NULL REFERENCES packages (id),
		image_id BIGINT NOT NULL REFERENCES images (id),
		PRIMARY KEY (package_id, image_id)
	);
	CREATE INDEX image_packages_image ON image_packages (image_id);

	CREATE TABLE attestations (
		image_id BIGINT NOT NULL REFERENCES images (id),
		digest TEXT NOT NULL,
		predicate_type TEXT NOT NULL,
		build_id TEXT NOT NULL,
		record TEXT NOT NULL,
		PRIMARY KEY (image_id, digest)
	);

	CREATE TABLE audit (
		id {{id}},
		chain TEXT NOT NULL,
		seq BIGINT NOT NULL,
		at BIGINT NOT NULL,
		kind TEXT NOT NULL,
		actor TEXT NOT NULL,
		repository TEXT NOT NULL,
		digest TEXT NOT NULL,
		subject TEXT NOT NULL,
		outcome TEXT NOT NULL,
		detail TEXT NOT NULL,
		prev_hash TEXT NOT NULL,
		hash TEXT NOT NULL,
		UNIQUE (chain, seq)
	);
	CREATE INDEX audit_kind ON audit (kind, id);
	CREATE INDEX audit_digest ON audit (digest, id);
	CREATE INDEX audit_at ON audit (at, id);

	CREATE TABLE audit_heads (
		chain TEXT PRIMARY KEY,
		seq BIGINT NOT NULL,
		hash TEXT NOT NULL,
		pruned_seq BIGINT NOT NULL,
		pruned_hash TEXT NOT NULL
	);`,
	// 2: registry events (RecordRegistryEvents) are recorded once per
	// event id, however often the registry retries; unattested pushes look
	// attestations up by their referrer manifest's digest.
	`CREATE TABLE registry_events (
		id TEXT PRIMARY KEY,
		received BIGINT NOT NULL
	);
	CREATE INDEX attestations_digest ON attestations (digest);`,
	// 3: vulnerability advisories (RecordAdvisories): one row per import,
	// and the OSV records as imported, one per id, the newest modified
	// kept.
	`CREATE TABLE vulndb_imports (
		id {{id}},
		source TEXT NOT NULL,
		sha256 TEXT NOT NULL,
		records BIGINT NOT NULL,
		changed BIGINT NOT NULL,
		newest_modified BIGINT NOT NULL,
		imported_at BIGINT NOT NULL,
		actor TEXT NOT NULL,
		warnings TEXT NOT NULL
	);

	CREATE TABLE advisories (
		id TEXT PRIMARY KEY,
		modified BIGINT NOT NULL,
		import_id BIGINT NOT NULL REFERENCES vulndb_imports (id),
		record TEXT NOT NULL
	);
	CREATE INDEX advisories_import ON advisories (import_id);`,
	// 4: vulnerability findings (SyncFindings): one row per image,
	// advisory and package, open until a re-scan no longer finds it; and
	// the ids each advisory is known by, for lookups by alias.
	`CREATE TABLE vuln_findings (
		id {{id}},
		image_id BIGINT NOT NULL REFERENCES images (id),
		advisory TEXT NOT NULL,
		purl TEXT NOT NULL,
		severity TEXT NOT NULL,
		excepted INTEGER NOT NULL,
		detail TEXT NOT NULL,
		first_seen BIGINT NOT NULL,
		resolved BIGINT NOT NULL,
		UNIQUE (image_id, advisory, purl)
	);
	CREATE INDEX vuln_findings_advisory ON vuln_findings (advisory, id);
	CREATE INDEX vuln_findings_open ON vuln_findings (resolved, image_id);

	CREATE TABLE vuln_ids (
		id TEXT NOT NULL,
		advisory TEXT NOT NULL,
		PRIMARY KEY (id, advisory)
	);`,
	// Builds are recorded while they run (outcome "running"); the
	// abandoned ones are found by their start.
	`CREATE INDEX builds_running ON builds (started) WHERE outcome = 'running';`,
}

// migrationLock is the PostgreSQL advisory lock key that serialises
// migrations of replicas starting together ("hallmark" in ASCII).
const migrationLock = 0x68616c6c6d61726b

// migrate applies the migrations that the database lacks, each in its own
// transaction with its version row.
func (s *DB) migrate(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate store: %w", err)
	}
	defer conn.Close()
	if s.dialect.dollar {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
			return fmt.Errorf("migrate store: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLock)) //nolint:errcheck // the session ends with the connection anyway
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate store: %w", err)
	}
	var have int
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("migrate store: read version: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("migrate store: the database is at schema version %d, newer than this gateway's %d: upgrade the gateway", have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		start := time.Now()
		if err := s.apply(ctx, conn, v); err != nil {
			return fmt.Errorf("migrate store to version %d: %w", v, err)
		}
		s.log.InfoContext(ctx, "store migrated", "driver", s.dialect.name, "version", v, "ms", time.Since(start).Milliseconds())
	}
	return nil
}

func (s *DB) apply(ctx context.Context, conn *sql.Conn, v int) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for _, stmt := range strings.Split(strings.ReplaceAll(migrations[v-1], "{{id}}", s.dialect.id), ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", firstLine(stmt), err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`), v, micros(s.now())); err != nil {
		return err
	}
	return tx.Commit()
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	line, _, _ := strings.Cut(s, "\n")
	return line
}
