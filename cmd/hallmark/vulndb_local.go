package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/server/convert"
	"github.com/hallmark-dev/hallmark/vuln"
	"github.com/hallmark-dev/hallmark/vuln/osv"
)

// The local advisory database (hallmark vulndb import --local) is a
// directory: each imported file, checked whole by osv.Import, copied in
// as <sha256><ext>, and index.json listing the imports in order. Loading
// it imports the files again, in order, into a vuln.DB, as the gateway
// loads its store.

// localImport is one import of the local database.
type localImport struct {
	Source         string    `json:"source"`
	SHA256         string    `json:"sha256"`
	File           string    `json:"file"`
	Records        int       `json:"records"`
	NewestModified time.Time `json:"newestModified,omitzero"`
	ImportedAt     time.Time `json:"importedAt"`
	Warnings       []string  `json:"warnings,omitempty"`
}

// localIndex is index.json.
type localIndex struct {
	Imports []localImport `json:"imports"`
}

const localIndexFile = "index.json"

// defaultLocalDB is $HALLMARK_VULNDB_DIR, else
// $XDG_DATA_HOME/hallmark/vulndb, else ~/.local/share/hallmark/vulndb.
func defaultLocalDB(getenv func(string) string) (string, error) {
	if d := getenv("HALLMARK_VULNDB_DIR"); d != "" {
		return d, nil
	}
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "hallmark", "vulndb"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the local advisory database: %w (set --db)", err)
	}
	return filepath.Join(home, ".local", "share", "hallmark", "vulndb"), nil
}

// readLocalIndex reads dir's index; a missing directory or index is an
// empty database.
func readLocalIndex(dir string) (localIndex, error) {
	var ix localIndex
	b, err := os.ReadFile(filepath.Join(dir, localIndexFile))
	if errors.Is(err, os.ErrNotExist) {
		return ix, nil
	}
	if err != nil {
		return ix, fmt.Errorf("read the local advisory database: %w", err)
	}
	if err := json.Unmarshal(b, &ix); err != nil {
		return ix, fmt.Errorf("read the local advisory database %s: %w", filepath.Join(dir, localIndexFile), err)
	}
	return ix, nil
}

// importLocal checks one file whole and adds it to dir. A file whose
// sha256 an import already has changes nothing (added false).
func importLocal(ctx context.Context, dir string, vf vulnFile) (imp localImport, added bool, err error) {
	_, info, err := osv.Import(ctx, vf.path)
	if err != nil {
		return imp, false, err
	}
	ix, err := readLocalIndex(dir)
	if err != nil {
		return imp, false, err
	}
	for _, have := range ix.Imports {
		if have.SHA256 == info.SHA256 {
			return have, false, nil
		}
	}
	ext := strings.ToLower(filepath.Ext(vf.path))
	if ext != ".zip" {
		ext = ".json"
	}
	imp = localImport{Source: vf.source, SHA256: info.SHA256, File: info.SHA256 + ext, Records: info.Records,
		NewestModified: info.NewestModified, ImportedAt: time.Now().UTC(), Warnings: info.Warnings}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return imp, false, fmt.Errorf("create the local advisory database: %w", err)
	}
	if err := copyInto(filepath.Join(dir, imp.File), vf.path); err != nil {
		return imp, false, err
	}
	ix.Imports = append(ix.Imports, imp)
	b, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		return imp, false, err
	}
	return imp, true, writeAtomic(filepath.Join(dir, localIndexFile), bytes.NewReader(append(b, '\n')))
}

// copyInto copies src to dst through a temporary file in dst's directory.
func copyInto(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := writeAtomic(dst, in); err != nil {
		return fmt.Errorf("copy %s into the local advisory database: %w", src, err)
	}
	return nil
}

// writeAtomic replaces path with what r holds, through a temporary file
// in its directory, so that a reader never sees half of it.
func writeAtomic(path string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".write-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// loadLocal reads every import of dir into a DB, in import order, and
// counts the advisories per ecosystem. An empty database is an error: a
// scan against it would find nothing.
func loadLocal(ctx context.Context, dir string) (*vuln.DB, localIndex, map[string]int64, error) {
	ix, err := readLocalIndex(dir)
	if err != nil {
		return nil, ix, nil, err
	}
	if len(ix.Imports) == 0 {
		return nil, ix, nil, fmt.Errorf("the local advisory database %s is empty: import advisories with hallmark vulndb import --local FILE", dir)
	}
	db := vuln.New()
	ecosOf := map[string][]string{}
	for _, imp := range ix.Imports {
		if filepath.Base(imp.File) != imp.File {
			return nil, ix, nil, fmt.Errorf("the local advisory database %s names the file %q outside it", dir, imp.File)
		}
		records, info, err := osv.Import(ctx, filepath.Join(dir, imp.File))
		if err != nil {
			return nil, ix, nil, fmt.Errorf("load the local advisory database: %w", err)
		}
		if info.SHA256 != imp.SHA256 {
			return nil, ix, nil, fmt.Errorf("the local advisory database %s: %s changed since it was imported (sha256 %s, recorded %s): import it again", dir, imp.File, info.SHA256, imp.SHA256)
		}
		info.Source = imp.Source
		db = db.Add(info, records)
		for _, r := range records {
			var ecos []string
			for _, a := range r.Affected {
				if a.Ecosystem != "" && !slices.Contains(ecos, a.Ecosystem) {
					ecos = append(ecos, a.Ecosystem)
				}
			}
			ecosOf[r.ID] = ecos
		}
	}
	counts := map[string]int64{}
	for _, ecos := range ecosOf {
		for _, e := range ecos {
			counts[e]++
		}
	}
	return db, ix, counts, nil
}

// runLocalImport imports files into the local database.
func runLocalImport(ctx context.Context, l *localFlags, output string, args []string, env verifyEnv) error {
	dir, err := l.dir(env)
	if err != nil {
		return err
	}
	files, err := vulnFiles(args)
	if err != nil {
		return err
	}
	for _, vf := range files {
		start := time.Now()
		imp, added, err := importLocal(ctx, dir, vf)
		if err != nil {
			return fmt.Errorf("import %s into %s: %w", vf.path, dir, err)
		}
		if output == "json" {
			if err := writeJSON(env.stdout, importResponseOf(imp, added), false); err != nil {
				return err
			}
			continue
		}
		what := "imported"
		if !added {
			what = "already imported"
		}
		fmt.Fprintf(env.stdout, "%s %s into %s: %d records, newest modified %s, sha256 %s (%s)\n", what, oneLine(vf.source), oneLine(dir),
			imp.Records, cell(utcTime(convert.Timestamp(&imp.NewestModified))), imp.SHA256[:12], time.Since(start).Round(time.Millisecond))
		for _, w := range imp.Warnings {
			fmt.Fprintf(env.stdout, "  warning: %s\n", oneLine(w))
		}
	}
	return nil
}

// importResponseOf is a local import as the gateway's answer has it;
// changed is the records when the file was added, else 0.
func importResponseOf(imp localImport, added bool) *hallmarkv1.ImportResponse {
	r := &hallmarkv1.ImportResponse{Source: imp.Source, Sha256: imp.SHA256, Records: int64(imp.Records),
		NewestModified: convert.Timestamp(&imp.NewestModified), Warnings: imp.Warnings}
	if added {
		r.Changed = int64(imp.Records)
	}
	return r
}

// runLocalStatus shows the local database as hallmark vulndb status shows
// the gateway's.
func runLocalStatus(ctx context.Context, l *localFlags, output string, env verifyEnv) error {
	dir, err := l.dir(env)
	if err != nil {
		return err
	}
	st := &hallmarkv1.StatusResponse{Ecosystems: map[string]int64{}}
	ix, err := readLocalIndex(dir)
	if err != nil {
		return err
	}
	if len(ix.Imports) > 0 {
		db, _, counts, err := loadLocal(ctx, dir)
		if err != nil {
			return err
		}
		st.Advisories, st.Ecosystems, st.NewestModified = int64(db.Len()), counts, convert.Timestamp(new(db.NewestModified()))
	}
	for _, imp := range ix.Imports {
		st.Imports = append(st.Imports, &hallmarkv1.VulnImport{Source: imp.Source, Sha256: imp.SHA256, Records: int64(imp.Records),
			NewestModified: convert.Timestamp(&imp.NewestModified), ImportedAt: convert.Timestamp(&imp.ImportedAt), Actor: "local"})
		st.LastImported = convert.Timestamp(&imp.ImportedAt)
	}
	if output == "json" {
		return writeJSON(env.stdout, st, true)
	}
	return writeVulnStatus(env.stdout, st, time.Now())
}
