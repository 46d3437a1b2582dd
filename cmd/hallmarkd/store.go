package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/server"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/verify/admission"
)

// pruneEvery is how often decisions older than store.decisionRetention
// are removed.
const pruneEvery = time.Hour

// memory is the open store and the recorder of decisions.
type memory struct {
	db       *store.DB
	recorder *store.Recorder
}

// openStore opens the store the config names, applying its migrations,
// and starts the decision recorder and the retention of decisions, which
// run until ctx ends.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger, metrics *server.Metrics) (*memory, error) {
	st := cfg.Store
	opts := []store.Option{store.WithLogger(log)}
	dsn := st.DSN
	switch st.Driver {
	case config.StorePostgres:
		if st.PasswordFile != "" {
			pw, err := os.ReadFile(st.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("store.passwordFile: %w", err)
			}
			opts = append(opts, store.WithPassword(strings.TrimSpace(string(pw))))
		}
	default:
		dsn = st.Path
		if dsn == "" {
			dsn = filepath.Join(cfg.DataDir, "store.db")
		}
	}
	start := time.Now()
	db, err := store.Open(ctx, st.Driver, dsn, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	log.Info("store open", "driver", st.Driver, "ms", time.Since(start).Milliseconds())
	dropped, written := metrics.ObserveDecisions()
	m := &memory{db: db, recorder: store.NewRecorder(db, store.WithRecorderLogger(log), store.WithCounters(dropped, written))}
	retention := time.Duration(st.DecisionRetention)
	go func() {
		t := time.NewTicker(pruneEvery)
		defer t.Stop()
		for {
			n, err := db.PruneDecisions(ctx, time.Now().Add(-retention))
			if err != nil && ctx.Err() == nil {
				log.Warn("prune decisions", "error", err)
			} else if n > 0 {
				log.Info("decisions pruned", "records", n, "retention", retention.String())
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return m, nil
}

// close writes the decisions still queued (for up to 10s) and closes the
// store.
func (m *memory) close(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.recorder.Close(ctx); err != nil {
		log.Warn("close decision recorder", "error", err)
	}
	if err := m.db.Close(); err != nil {
		log.Warn("close store", "error", err)
	}
}

// maxAdmissionReasons bounds the reasons an admission record keeps.
const maxAdmissionReasons = 20

// admissionDecision is the store's record of one image of one admission
// review.
func admissionDecision(d admission.Decision) store.Decision {
	var sd store.Decision
	if d.Verdict != nil {
		sd = server.VerifyDecision(store.KindAdmission, d.User, d.Image, d.Verdict)
	} else {
		sd = store.Decision{Kind: store.KindAdmission, At: time.Now(), Caller: d.User, Ref: d.Image}
		if repo, err := registry.ReferenceRepository(d.Image); err == nil {
			sd.Repository = repo
		}
		if d.Err != nil {
			sd.Reasons = []string{"could not verify: " + d.Err.Error()}
		}
	}
	sd.Namespace, sd.Object = d.Namespace, d.Kind+"/"+d.Name
	if d.DryRun {
		sd.Object += " (dry run)"
	}
	sd.Allowed = d.Allowed
	sd.Reasons = append(sd.Reasons, d.Violations...)
	sd.Reasons = sd.Reasons[:min(len(sd.Reasons), maxAdmissionReasons)]
	return sd
}
