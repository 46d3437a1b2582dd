package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/vuln"
	"github.com/hallmark-dev/hallmark/vuln/osv"
)

// VulnStore is what the advisory loader needs of the store (store.DB):
// the advisories as imported and the record of each import.
type VulnStore interface {
	RecordAdvisories(ctx context.Context, imp store.VulnImport, records []store.AdvisoryRecord) (store.VulnImport, error)
	Advisories(ctx context.Context, since int64, fn func(id string, json []byte) error) error
	VulnImports(ctx context.Context) ([]store.VulnImport, error)
}

var _ VulnStore = (*store.DB)(nil)

// VulnLoader is the gateway's advisory database (a VulnSource): the
// advisories of the store, loaded into a vuln.DB at start and again when
// an import is recorded, here or by another replica sharing the store.
// It is safe for concurrent use.
type VulnLoader struct {
	st       VulnStore
	log      *slog.Logger
	refresh  time.Duration
	maxBytes int64
	spool    string
	sources  []string
	urls     []*url.URL
	client   *http.Client

	// hashes and failed are Run's: the sha256 of the source files read,
	// and those whose import failed.
	hashes  map[fileKey]string
	failed  map[string]bool
	fetched map[string]fetchState

	cur  atomic.Pointer[vulnSnapshot]
	mu   sync.Mutex     // serialises loads
	seen map[int64]bool // import ids loaded
	ecos map[string][]string
}

// vulnSnapshot is one loaded state: the DB and what Status reports of it.
type vulnSnapshot struct {
	db         *vuln.DB
	ecosystems map[string]int64
	newest     time.Time
}

// VulnLoaderOption configures a VulnLoader.
type VulnLoaderOption func(*VulnLoader) error

// WithVulnLogger sets the loader's logger. The default discards logs.
func WithVulnLogger(l *slog.Logger) VulnLoaderOption {
	return func(v *VulnLoader) error { v.log = l; return nil }
}

// WithVulnRefresh sets how often Run reads the store for imports by other
// replicas. The default is 1m.
func WithVulnRefresh(d time.Duration) VulnLoaderOption {
	return func(v *VulnLoader) error {
		if d <= 0 {
			return fmt.Errorf("%w: vulndb refresh %s is not positive", hallmark.ErrInvalid, d)
		}
		v.refresh = d
		return nil
	}
}

// WithVulnMaxImportBytes bounds one imported file. The default is 512 MiB.
func WithVulnMaxImportBytes(n int64) VulnLoaderOption {
	return func(v *VulnLoader) error {
		if n <= 0 {
			return fmt.Errorf("%w: vulndb max import bytes %d is not positive", hallmark.ErrInvalid, n)
		}
		v.maxBytes = n
		return nil
	}
}

// WithVulnSpoolDir sets the directory imported files are spooled to while
// they are read. The default is the system's temporary directory.
func WithVulnSpoolDir(dir string) VulnLoaderOption {
	return func(v *VulnLoader) error { v.spool = dir; return nil }
}

// NewVulnLoader loads every advisory of st and returns the loader.
func NewVulnLoader(ctx context.Context, st VulnStore, opts ...VulnLoaderOption) (*VulnLoader, error) {
	v := &VulnLoader{st: st, log: slog.New(slog.DiscardHandler), refresh: time.Minute, maxBytes: 512 << 20,
		seen: map[int64]bool{}, ecos: map[string][]string{}, hashes: map[fileKey]string{}, failed: map[string]bool{},
		fetched: map[string]fetchState{}, client: &http.Client{Timeout: fetchTimeout, CheckRedirect: checkSourceRedirect}}
	for _, opt := range opts {
		if err := opt(v); err != nil {
			return nil, err
		}
	}
	v.cur.Store(&vulnSnapshot{ecosystems: map[string]int64{}})
	start := time.Now()
	if err := v.Refresh(ctx); err != nil {
		return nil, err
	}
	v.log.InfoContext(ctx, "advisories loaded", "records", v.len(), "ms", time.Since(start).Milliseconds())
	return v, nil
}

// DB returns the loaded database; nil when no advisories are loaded.
func (v *VulnLoader) DB() *vuln.DB {
	db := v.cur.Load().db
	if db == nil || db.Len() == 0 {
		return nil
	}
	return db
}

// Run imports the new files of the sources (WithVulnSources) and reads
// the store for new imports every refresh interval until ctx ends,
// logging what fails.
func (v *VulnLoader) Run(ctx context.Context) {
	v.pollSources(ctx)
	t := time.NewTicker(v.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			v.pollSources(ctx)
			if err := v.Refresh(ctx); err != nil && ctx.Err() == nil {
				v.log.WarnContext(ctx, "advisories not refreshed", "err", err)
			}
		}
	}
}

// Refresh loads the advisories of the imports recorded since the last
// load, if any.
func (v *VulnLoader) Refresh(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	imports, err := v.st.VulnImports(ctx)
	if err != nil {
		return fmt.Errorf("refresh advisories: %w", err)
	}
	var fresh []int64
	var infos []osv.ImportInfo // in id order, as the store lists them
	for _, imp := range imports {
		if !v.seen[imp.ID] {
			fresh = append(fresh, imp.ID)
			infos = append(infos, osv.ImportInfo{Source: imp.Source, SHA256: imp.SHA256, Records: imp.Records, NewestModified: imp.NewestModified})
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	// Imports may commit out of id order: read everything after the
	// oldest one not loaded yet. Records loaded again are unchanged.
	since := slices.Min(fresh) - 1
	var records []osv.Record
	err = v.st.Advisories(ctx, since, func(id string, data []byte) error {
		r, _, err := osv.Parse(data)
		if err != nil {
			v.log.WarnContext(ctx, "stored advisory does not parse", "id", id, "err", err)
			return nil
		}
		records = append(records, r)
		return nil
	})
	if err != nil {
		return fmt.Errorf("refresh advisories: %w", err)
	}
	old := v.cur.Load()
	next := &vulnSnapshot{db: old.db.AddImports(infos, records), ecosystems: map[string]int64{}, newest: old.newest}
	for _, r := range records {
		var ecos []string
		for _, a := range r.Affected {
			if a.Ecosystem != "" && !slices.Contains(ecos, a.Ecosystem) {
				ecos = append(ecos, a.Ecosystem)
			}
		}
		v.ecos[r.ID] = ecos
		if r.Modified.After(next.newest) {
			next.newest = r.Modified
		}
	}
	for _, ecos := range v.ecos {
		for _, e := range ecos {
			next.ecosystems[e]++
		}
	}
	v.cur.Store(next)
	for _, id := range fresh {
		v.seen[id] = true
	}
	return nil
}

// inflateRatio bounds the JSON an import may inflate to, as a multiple of
// the file size limit: the records are held in memory while they are
// read (osv.dev's archives inflate about tenfold).
const inflateRatio = 16

// Import reads the OSV records of one file of size bytes from r (osv
// ImportReader: all or nothing), records them in the store as actor's
// import of source and loads them. Nothing is recorded or loaded when the
// file is refused.
func (v *VulnLoader) Import(ctx context.Context, actor, source string, r io.ReaderAt, size int64) (store.VulnImport, error) {
	var stored []store.AdvisoryRecord
	jsonOf := map[string][]byte{}
	records, info, err := osv.ImportReader(ctx, source, r, size, osv.WithMaxFileBytes(v.maxBytes),
		osv.WithMaxTotalBytes(min(inflateRatio*v.maxBytes, osv.DefaultMaxTotalBytes)),
		osv.WithRecordJSON(func(id string, data []byte) { jsonOf[id] = data }))
	if err != nil {
		return store.VulnImport{}, err
	}
	for _, rec := range records {
		stored = append(stored, store.AdvisoryRecord{ID: rec.ID, Modified: rec.Modified, JSON: jsonOf[rec.ID]})
	}
	imp, err := v.st.RecordAdvisories(ctx, store.VulnImport{
		Source: source, SHA256: info.SHA256, NewestModified: info.NewestModified, Actor: actor, Warnings: info.Warnings,
	}, stored)
	if err != nil {
		if errors.Is(err, hallmark.ErrInvalid) {
			return imp, err
		}
		return imp, fmt.Errorf("%w: %w", hallmark.ErrUnavailable, err)
	}
	if err := v.Refresh(ctx); err != nil {
		return imp, errors.Join(fmt.Errorf("%w: the import is recorded but not loaded yet", hallmark.ErrUnavailable), err)
	}
	return imp, nil
}

// len returns the number of records loaded.
func (v *VulnLoader) len() int {
	if db := v.cur.Load().db; db != nil {
		return db.Len()
	}
	return 0
}

// status returns the loaded totals.
func (v *VulnLoader) status() *vulnSnapshot { return v.cur.Load() }
