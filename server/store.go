package server

import (
	"context"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

// Store is the gateway's memory (store.DB): builds are recorded into it,
// QueryService and the CLI's queries read from it.
type Store interface {
	RecordBuild(ctx context.Context, b *store.Build) error
	Images(ctx context.Context, q store.ImageQuery) ([]store.Image, string, error)
	Image(ctx context.Context, repository string, digest hallmark.Digest) (*store.ImageRecord, error)
	Builds(ctx context.Context, q store.BuildQuery) ([]store.Build, string, error)
	Build(ctx context.Context, id string) (*store.Build, error)
	Audit(ctx context.Context, q store.AuditQuery) ([]store.Event, string, error)
	VerifyAudit(ctx context.Context) (*store.AuditCheck, error)
	BaseRefs(ctx context.Context) (map[string][]hallmark.Digest, error)
	Tag(ctx context.Context, repository, tag string) (hallmark.Digest, error)
}

var _ Store = (*store.DB)(nil)

// DecisionRecorder records verification and admission decisions without
// making them wait (store.Recorder).
type DecisionRecorder interface {
	Record(d store.Decision)
}

var _ DecisionRecorder = (*store.Recorder)(nil)

// WithStore records every build in st and serves QueryService from it.
// The default is none: nothing is recorded and QueryService is not
// served.
func WithStore(st Store) Option {
	return func(s *Server) error { s.store = st; return nil }
}

// WithDecisionRecorder records every VerifyService decision with r. The
// default records none.
func WithDecisionRecorder(r DecisionRecorder) Option {
	return func(s *Server) error { s.decisions = r; return nil }
}
