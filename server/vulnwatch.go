package server

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/vuln"
)

// FindingStore is what the re-scan needs of the store (store.DB): the
// recorded images' packages matched and their findings recorded, counted
// and listed.
type FindingStore interface {
	SyncFindings(ctx context.Context, since int64, match store.Matcher) (store.FindingSync, error)
	FindingCounts(ctx context.Context) ([]store.FindingCount, error)
	Findings(ctx context.Context, q store.FindingQuery) ([]store.Finding, string, error)
	ImagePackages(ctx context.Context, repository string, digest hallmark.Digest) ([]string, error)
}

var _ FindingStore = (*store.DB)(nil)

// Re-scan intervals.
const (
	// defaultRescanEvery is how often the re-scan looks for new images
	// and for advisories other replicas imported, when nothing pokes it.
	defaultRescanEvery = time.Minute
	// fullRescanEvery re-matches every image even when the advisories did
	// not change: exceptions expire.
	fullRescanEvery = time.Hour
)

// WithVulnRescan sets how often the gateway re-matches the recorded
// images' packages when nothing prompts it (default 1m; an import and a
// recorded build prompt it at once). Zero turns the re-scan off.
func WithVulnRescan(every time.Duration) Option {
	return func(s *Server) error {
		if every < 0 {
			return fmt.Errorf("vulnerability re-scan interval %s is negative", every)
		}
		s.rescanEvery = every
		return nil
	}
}

// vulnWatch keeps the findings of every recorded image current: a full
// re-match when the advisories change (or every fullRescanEvery), the
// images recorded since the last one otherwise.
type vulnWatch struct {
	s      *Server
	st     FindingStore
	poke   chan struct{}
	resign *resigner // nil: shipped images' scans are not signed

	// db, full, last and watermark are WatchVulnerabilities': the
	// database of the last full sync, when it ran, when the last sync ran,
	// and the newest image it covered.
	db        *vuln.DB
	full      time.Time
	last      time.Time
	watermark int64
	// scanned is when the last sync succeeded (Unix nanoseconds), for
	// readers.
	scanned atomic.Int64
}

// scannedAt is when the last sync succeeded; zero before the first.
func (w *vulnWatch) scannedAt() time.Time {
	if n := w.scanned.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// newVulnWatch returns the re-scan of s, or nil when s has no store that
// keeps findings, no advisories or no re-scan interval.
func newVulnWatch(s *Server) *vulnWatch {
	st, ok := s.store.(FindingStore)
	if !ok || s.vulns == nil || s.rescanEvery == 0 {
		return nil
	}
	return &vulnWatch{s: s, st: st, poke: make(chan struct{}, 1), resign: newResigner(s)}
}

// prompt asks for a re-scan soon without waiting for it.
func (w *vulnWatch) prompt() {
	if w == nil {
		return
	}
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

// WatchVulnerabilities re-matches the packages of every image in the
// store against the advisories until ctx ends: at once, then whenever the
// advisories change (looked for every 5s), an image is recorded, or the
// re-scan interval passes. It records new and resolved findings, sets
// the findings metrics and, with a vulnerability policy and an attester,
// signs a fresh scan attestation for each image a tag points at whose
// findings changed (at most 32 per round). It returns at once when the
// gateway has no store, no advisories (WithVulnSource, WithVulnDB) or no
// re-scan interval.
func (s *Server) WatchVulnerabilities(ctx context.Context) {
	w := s.watch
	if w == nil {
		return
	}
	t := time.NewTicker(min(s.rescanEvery, dbCheckEvery))
	defer t.Stop()
	force := true
	for {
		w.once(ctx, force)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			force = false
		case <-w.poke:
			force = true
		}
	}
}

// dbCheckEvery is how often the re-scan looks for changed advisories.
const dbCheckEvery = 5 * time.Second

// once syncs the findings: of every image when the advisories changed or
// the last full sync is fullRescanEvery old, else of the images recorded
// since the last sync when forced or the re-scan interval passed. A
// failure is logged and retried at the next one.
func (w *vulnWatch) once(ctx context.Context, force bool) {
	db := w.s.vulnDB()
	if db == nil {
		return
	}
	now := time.Now()
	since := w.watermark
	switch {
	case db != w.db || now.Sub(w.full) >= fullRescanEvery:
		since = 0
	case !force && now.Sub(w.last) < w.s.rescanEvery:
		w.resignRound(ctx, db)
		return
	}
	scope := "new"
	if since == 0 {
		scope = "all"
	}
	sync, err := w.st.SyncFindings(ctx, since, w.matcher(db, now))
	took := time.Since(now)
	w.last = now
	if err != nil {
		if ctx.Err() == nil {
			w.s.log.WarnContext(ctx, "vulnerability re-scan failed", "scope", scope, "err", err)
		}
		return
	}
	if since == 0 {
		w.db, w.full = db, now
	}
	w.watermark = sync.Watermark
	w.scanned.Store(time.Now().UnixNano())
	m := w.s.metrics
	m.rescanDuration.WithLabelValues(scope).Observe(took.Seconds())
	m.findingChanges.WithLabelValues("new").Add(float64(sync.New))
	m.findingChanges.WithLabelValues("resolved").Add(float64(sync.Resolved))
	m.rescanLast.SetToCurrentTime()
	if sync.New+sync.Changed+sync.Resolved > 0 || since == 0 {
		w.s.log.InfoContext(ctx, "vulnerabilities re-scanned", "scope", scope, "packages", sync.Packages, "affected_packages", sync.Affected,
			"new", sync.New, "changed", sync.Changed, "resolved", sync.Resolved, "open_in_scope", sync.Open, "ms", took.Milliseconds())
	}
	// The gauges count the whole store (other replicas' findings too):
	// recounted when this sync changed something, after a full sync, and
	// on the periodic one, not after every recorded build.
	if sync.New+sync.Changed+sync.Resolved > 0 || since == 0 || !force {
		if err := w.countFindings(ctx); err != nil {
			w.s.log.WarnContext(ctx, "vulnerability findings not counted", "err", err)
		}
	}
	w.resign.add(sync.Shipped)
	w.resignRound(ctx, db)
}

// countFindings sets the findings gauges from the store, so that every
// replica exports the same totals.
func (w *vulnWatch) countFindings(ctx context.Context) error {
	counts, err := w.st.FindingCounts(ctx)
	if err != nil {
		return err
	}
	m := w.s.metrics
	m.findings.Reset()
	m.affectedImages.Reset()
	for _, l := range []vuln.Level{vuln.Critical, vuln.High, vuln.Medium, vuln.Low, vuln.Unknown} {
		m.findings.WithLabelValues(string(l), "false")
		m.findings.WithLabelValues(string(l), "true")
	}
	for _, c := range counts {
		m.findings.WithLabelValues(c.Severity, fmt.Sprint(c.Excepted)).Add(float64(c.Findings))
		if !c.Excepted {
			m.affectedImages.WithLabelValues(c.Severity).Add(float64(c.Images))
		}
	}
	return nil
}

// findingDetail is a recorded finding's detail: the scanner's finding and
// the exception that accepts it.
type findingDetail struct {
	vuln.Finding
	Excepted *vuln.Exception `json:"excepted,omitempty"`
}

// matcher matches purls against db as the build-time scan does, with the
// build policy's exceptions as of now.
func (w *vulnWatch) matcher(db *vuln.DB, now time.Time) store.Matcher {
	var policy vuln.Policy
	if p := w.s.vulnPolicy; p != nil {
		policy = *p
	}
	return func(ctx context.Context, purls []string) (map[string][]store.FindingData, error) {
		pkgs, _ := vulnPackages(purls)
		rep := db.Scan(pkgs)
		excepted := map[[2]string]vuln.Exception{}
		for _, e := range policy.Decide(rep, now).Excepted {
			excepted[[2]string{e.ID, e.Package}] = e.Exception
		}
		out := map[string][]store.FindingData{}
		for _, f := range rep.Findings {
			d := findingDetail{Finding: f}
			if e, ok := excepted[[2]string{f.ID, f.Package}]; ok {
				d.Excepted = &e
			}
			detail, err := json.Marshal(d)
			if err != nil {
				return nil, fmt.Errorf("encode finding %s: %w", f.ID, err)
			}
			out[f.Package] = append(out[f.Package], store.FindingData{
				Advisory: f.ID, Aliases: f.Aliases, Severity: string(f.Severity.Level), Excepted: d.Excepted != nil, Detail: detail,
			})
		}
		return out, nil
	}
}
