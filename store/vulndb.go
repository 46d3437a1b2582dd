package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// VulnImport is one import of vulnerability advisories (table
// vulndb_imports).
type VulnImport struct {
	// ID orders the imports; Advisories streams the records of the imports
	// after one.
	ID int64 `json:"id"`
	// Source is the file or name imported; SHA256 the hex sha256 of its
	// bytes.
	Source string `json:"source"`
	SHA256 string `json:"sha256"`
	// Records is how many records the import held; Changed how many of
	// them were new or newer than the stored ones.
	Records int `json:"records"`
	Changed int `json:"changed"`
	// NewestModified is the latest modified time of its records.
	NewestModified time.Time `json:"newestModified"`
	// ImportedAt is when it was recorded; Actor who imported it.
	ImportedAt time.Time `json:"importedAt"`
	Actor      string    `json:"actor"`
	// Warnings are the import's warnings (osv.ImportInfo.Warnings).
	Warnings []string `json:"warnings,omitempty"`
}

// AdvisoryRecord is one OSV record to store: its id, modified time and
// JSON as imported.
type AdvisoryRecord struct {
	ID       string
	Modified time.Time
	JSON     []byte
}

// VulnImportDetail is the Detail of a vulndb audit record.
type VulnImportDetail struct {
	ImportID       int64     `json:"importId,omitempty"`
	SHA256         string    `json:"sha256"`
	Records        int       `json:"records"`
	Changed        int       `json:"changed"`
	NewestModified time.Time `json:"newestModified,omitzero"`
}

// advisoryBatch is how many records one INSERT writes (four parameters
// each).
const advisoryBatch = 500

// RecordAdvisories stores the records of one import in one transaction:
// each record replaces the stored one of its id unless it is older (a
// lower modified time), or as old and the same JSON, so that importing
// the same file again changes nothing. The import is recorded in
// vulndb_imports, except when it changed nothing and an import of the
// same sha256 is already recorded, and always in the audit log (kind
// "vulndb"). It returns the import as recorded, with Changed set; its ID
// is 0 when no row was added.
func (s *DB) RecordAdvisories(ctx context.Context, imp VulnImport, records []AdvisoryRecord) (VulnImport, error) {
	if imp.Source == "" || imp.SHA256 == "" {
		return imp, fmt.Errorf("record advisories: %w: an import needs a source and a sha256", hallmark.ErrInvalid)
	}
	for _, r := range records {
		if r.ID == "" || !json.Valid(r.JSON) {
			return imp, fmt.Errorf("record advisories: %w: record %q has no id or is not JSON", hallmark.ErrInvalid, hallmark.Clip(r.ID, 64))
		}
	}
	imp.Records, imp.ImportedAt = len(records), s.now().UTC()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		warnings, _ := json.Marshal(imp.Warnings)
		if err := tx.QueryRowContext(ctx, s.q(`INSERT INTO vulndb_imports (source, sha256, records, changed, newest_modified, imported_at, actor, warnings)
			VALUES (?, ?, ?, 0, ?, ?, ?, ?) RETURNING id`),
			imp.Source, imp.SHA256, imp.Records, micros(imp.NewestModified), micros(imp.ImportedAt), imp.Actor, string(warnings)).Scan(&imp.ID); err != nil {
			return fmt.Errorf("add import: %w", err)
		}
		changed, err := s.upsertAdvisories(ctx, tx, imp.ID, records)
		if err != nil {
			return err
		}
		imp.Changed = changed
		if err := s.keepImport(ctx, tx, &imp); err != nil {
			return err
		}
		detail, _ := json.Marshal(VulnImportDetail{ImportID: imp.ID, SHA256: imp.SHA256, Records: imp.Records, Changed: imp.Changed, NewestModified: imp.NewestModified})
		return s.appendEvents(ctx, tx, []Event{{
			At: imp.ImportedAt, Kind: KindVulnDB, Actor: imp.Actor, Subject: hallmark.Clip(imp.Source, 256),
			Outcome: OutcomeSucceeded, Detail: detail,
		}})
	})
	if err != nil {
		return imp, fmt.Errorf("record advisories of %s: %w", hallmark.Clip(imp.Source, 128), err)
	}
	return imp, nil
}

// keepImport sets the import's changed count, or removes its row when it
// changed nothing and the same file was imported before.
func (s *DB) keepImport(ctx context.Context, tx *sql.Tx, imp *VulnImport) error {
	if imp.Changed == 0 {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM vulndb_imports WHERE sha256 = ? AND id <> ?`), imp.SHA256, imp.ID).Scan(&n); err != nil {
			return fmt.Errorf("find import: %w", err)
		}
		if n > 0 {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM vulndb_imports WHERE id = ?`), imp.ID); err != nil {
				return fmt.Errorf("drop unchanged import: %w", err)
			}
			imp.ID = 0
			return nil
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE vulndb_imports SET changed = ? WHERE id = ?`), imp.Changed, imp.ID); err != nil {
		return fmt.Errorf("update import: %w", err)
	}
	return nil
}

// upsertAdvisories writes records in batches and returns how many rows
// were inserted or replaced.
func (s *DB) upsertAdvisories(ctx context.Context, tx *sql.Tx, importID int64, records []AdvisoryRecord) (int, error) {
	changed := 0
	for start := 0; start < len(records); start += advisoryBatch {
		batch := records[start:min(start+advisoryBatch, len(records))]
		var sb strings.Builder
		sb.WriteString(`INSERT INTO advisories (id, modified, import_id, record) VALUES `)
		args := make([]any, 0, 4*len(batch))
		for i, r := range batch {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?)")
			args = append(args, r.ID, micros(r.Modified), importID, string(r.JSON))
		}
		sb.WriteString(` ON CONFLICT (id) DO UPDATE SET modified = excluded.modified, import_id = excluded.import_id, record = excluded.record
			WHERE excluded.modified > advisories.modified OR (excluded.modified = advisories.modified AND excluded.record <> advisories.record)`)
		res, err := tx.ExecContext(ctx, s.q(sb.String()), args...)
		if err != nil {
			return 0, fmt.Errorf("add advisories: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("add advisories: %w", err)
		}
		changed += int(n)
	}
	return changed, nil
}

// Advisories calls fn with the id and JSON of every stored record whose
// last change came from an import after since (0 for all), in import
// order, and stops at fn's first error.
func (s *DB) Advisories(ctx context.Context, since int64, fn func(id string, json []byte) error) error {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, record FROM advisories WHERE import_id > ? ORDER BY import_id, id`), since)
	if err != nil {
		return fmt.Errorf("read advisories: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, rec string
		if err := rows.Scan(&id, &rec); err != nil {
			return fmt.Errorf("read advisories: %w", err)
		}
		if err := fn(id, []byte(rec)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read advisories: %w", err)
	}
	return nil
}

// VulnImports returns the recorded imports, oldest first.
func (s *DB) VulnImports(ctx context.Context) ([]VulnImport, error) {
	out, err := queryAll(ctx, s, `SELECT id, source, sha256, records, changed, newest_modified, imported_at, actor, warnings FROM vulndb_imports ORDER BY id`,
		func(rows *sql.Rows) (VulnImport, error) {
			var v VulnImport
			var newest, at int64
			var warnings string
			if err := rows.Scan(&v.ID, &v.Source, &v.SHA256, &v.Records, &v.Changed, &newest, &at, &v.Actor, &warnings); err != nil {
				return v, err
			}
			v.NewestModified, v.ImportedAt = fromMicros(newest), fromMicros(at)
			if err := json.Unmarshal([]byte(warnings), &v.Warnings); err != nil {
				return v, errors.New("warnings are not JSON")
			}
			return v, nil
		})
	if err != nil {
		return nil, fmt.Errorf("read vulndb imports: %w", err)
	}
	return out, nil
}
