package devstack

import (
	"context"
	"path/filepath"
)

// startPostgres starts PostgreSQL with its cluster in Dir/postgres, kept
// across restarts of a stack on the same Dir, its log in logs/postgres.log,
// and records the DSN of its database in the state.
func (s *Stack) startPostgres(ctx context.Context) error {
	pg, err := StartPostgres(ctx, filepath.Join(s.cfg.Dir, "postgres"),
		WithPostgresLog(filepath.Join(s.cfg.Dir, "logs", "postgres.log")),
		WithPostgresProgress(s.cfg.Progress))
	if err != nil {
		return err
	}
	s.procs = append(s.procs, pg.proc)
	s.Postgres, s.pg = pg.DSN(), pg
	return nil
}
