package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/server"
	"github.com/hallmark-dev/hallmark/store"
)

// newVulnLoader loads the store's advisories and starts importing the new
// files of vulndb.sources and reading the store for other replicas'
// imports every vulndb.refresh, until ctx ends.
// Imported files are spooled under dataDir/vulndb; what an earlier run
// left there is removed.
func newVulnLoader(ctx context.Context, cfg config.Config, log *slog.Logger, db *store.DB) (*server.VulnLoader, error) {
	spool := filepath.Join(cfg.DataDir, "vulndb")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return nil, fmt.Errorf("vulndb: %w", err)
	}
	// A gateway that stopped during an import left its spooled file.
	if left, _ := filepath.Glob(filepath.Join(spool, "vulndb-import-*")); len(left) > 0 {
		for _, f := range left {
			_ = os.Remove(f)
		}
		log.Info("removed spooled imports of an earlier run", "files", len(left))
	}
	l, err := server.NewVulnLoader(ctx, db,
		server.WithVulnLogger(log),
		server.WithVulnSpoolDir(spool),
		server.WithVulnMaxImportBytes(cfg.VulnDB.MaxImportBytes),
		server.WithVulnRefresh(time.Duration(cfg.VulnDB.Refresh)),
		server.WithVulnSources(cfg.VulnDB.Sources...),
	)
	if err != nil {
		return nil, fmt.Errorf("vulndb: %w", err)
	}
	go l.Run(ctx)
	return l, nil
}
