package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

// progressInterval is the least time between two writes of a running
// build's progress, and liveWriteTimeout bounds each write.
const (
	progressInterval = time.Second
	liveWriteTimeout = 5 * time.Second
)

// maxSeenVertices bounds the BuildKit steps a running build's progress
// counts.
const maxSeenVertices = 10_000

// liveRecord keeps a running build's record in the store current, so that
// lists (the web view, QueryService.ListBuilds) show it while it runs on
// any replica, from a second after it started. It writes in the
// background and never delays the build: a write that fails is logged and
// the next one tries again. The build's
// final record replaces it whatever the order the writes land in (the
// store ignores a start or progress written after the end).
type liveRecord struct {
	st   Store
	log  *slog.Logger
	wake chan struct{}
	// ctx ends the writes: end cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	rec      store.Build
	vertices map[string]bool // digest → completed
}

// startLive records rec as running and returns what keeps its progress
// current; nil (whose methods do nothing) when the gateway has no store.
func (s *Server) startLive(ctx context.Context, log *slog.Logger, rec store.Build) *liveRecord {
	if s.store == nil {
		return nil
	}
	rec.Tags = nil
	rec.Outcome = store.OutcomeRunning
	rec.Progress = &store.Progress{Phase: store.PhaseQueued, Updated: rec.Started}
	l := &liveRecord{st: s.store, log: log, rec: rec, vertices: map[string]bool{}, wake: make(chan struct{}, 1)}
	l.ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go l.write()
	return l
}

// write records the build as running a progressInterval after it
// started, then each change of its progress at most once a
// progressInterval, until end.
func (l *liveRecord) write() {
	ctx := l.ctx
	// A build that ends within the interval (a cached one) writes
	// nothing before its final record: the gateway's overhead on a fast
	// build stays what it was.
	select {
	case <-ctx.Done():
		return
	case <-time.After(progressInterval):
	}
	l.mu.Lock()
	start := l.snapshot()
	l.mu.Unlock()
	l.put(ctx, "start", l.st.StartBuild, start)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(progressInterval):
		}
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		}
		l.mu.Lock()
		b := l.snapshot()
		l.mu.Unlock()
		l.put(ctx, "progress", l.st.UpdateProgress, b)
	}
}

func (l *liveRecord) put(ctx context.Context, what string, f func(context.Context, *store.Build) error, b *store.Build) {
	wctx, cancel := context.WithTimeout(ctx, liveWriteTimeout)
	defer cancel()
	if err := f(wctx, b); err != nil && ctx.Err() == nil {
		l.log.WarnContext(ctx, "running build's "+what+" not recorded", "error", err)
	}
}

// snapshot copies the record; l.mu is held.
func (l *liveRecord) snapshot() *store.Build {
	b := l.rec
	p := *l.rec.Progress
	b.Progress = &p
	return &b
}

// changed stamps the progress and wakes the writer; l.mu is held.
func (l *liveRecord) changed() {
	l.rec.Progress.Updated = time.Now().UTC()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// observe takes one of the build's progress events.
func (l *liveRecord) observe(e hallmark.Event) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.rec.Progress
	if a := e.Accepted; a != nil {
		if a.QueuePosition > 0 {
			p.Phase, p.Queue = store.PhaseQueued, a.QueuePosition
		} else if p.Phase == store.PhaseQueued {
			p.Phase, p.Queue = store.PhaseBuilding, 0
		}
		l.changed()
		return
	}
	st := e.Status
	if st == nil || len(st.Vertexes) == 0 {
		return
	}
	if p.Phase == store.PhaseQueued {
		p.Phase, p.Queue = store.PhaseBuilding, 0
	}
	for _, v := range st.Vertexes {
		done, seen := l.vertices[v.Digest]
		if !seen && len(l.vertices) >= maxSeenVertices {
			continue
		}
		if !done {
			l.vertices[v.Digest] = v.Completed != nil
		}
		if v.Started != nil && v.Completed == nil && v.Name != "" {
			p.Step = hallmark.Clip(v.Name, maxStepName-len("…"))
		}
	}
	p.Done, p.Total = 0, len(l.vertices)
	for _, c := range l.vertices {
		if c {
			p.Done++
		}
	}
	l.changed()
}

// maxStepName is the longest step name a progress record keeps, the
// clipping mark included (the store's limit).
const maxStepName = 200

// phase records that the build entered a phase after BuildKit's part.
func (l *liveRecord) phase(name string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rec.Progress.Phase, l.rec.Progress.Step = name, ""
	l.changed()
}

// end stops the writes, cancelling one in flight; the build's final
// record follows. Calling it again does nothing.
func (l *liveRecord) end() {
	if l == nil {
		return
	}
	l.cancel()
}

// abandonedReason is the error of a build whose gateway stopped before it
// recorded the build's end.
const abandonedReason = "unavailable: the gateway replica running this build stopped before the build ended; no tag moved"

// EndAbandonedBuilds records as failed, every interval until ctx ends,
// the builds still recorded as running well past the gateway's build
// timeout: the replica running them stopped (a crash, a lost node) before
// it recorded their end. Every replica may run it; a build is ended once.
func (s *Server) EndAbandonedBuilds(ctx context.Context, every time.Duration) {
	if s.store == nil {
		return
	}
	// A build ends by its timeout, and its record is written within the
	// record retries after that.
	grace := s.timeout + recordAttempts*(recordTimeout+recordBackoff<<recordAttempts) + time.Minute
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.store.AbandonBuilds(ctx, time.Now().Add(-grace), abandonedReason)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.WarnContext(ctx, "abandoned builds not ended", "error", err)
		case n > 0:
			s.log.WarnContext(ctx, "abandoned builds ended", "builds", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
