package server

import (
	"context"
	"slices"
	"strings"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/bounded"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/verify"
)

// Store is the gateway's memory (store.DB): builds, imported images and
// registry events are recorded into it, QueryService and the CLI's queries
// read from it.
type Store interface {
	RecordBuild(ctx context.Context, b *store.Build) error
	StartBuild(ctx context.Context, b *store.Build) error
	UpdateProgress(ctx context.Context, b *store.Build) error
	AbandonBuilds(ctx context.Context, before time.Time, reason string) (int, error)
	Images(ctx context.Context, q store.ImageQuery) ([]store.Image, string, error)
	Image(ctx context.Context, repository string, digest hallmark.Digest) (*store.ImageRecord, error)
	Builds(ctx context.Context, q store.BuildQuery) ([]store.Build, string, error)
	Build(ctx context.Context, id string) (*store.Build, error)
	Audit(ctx context.Context, q store.AuditQuery) ([]store.Event, string, error)
	VerifyAudit(ctx context.Context) (*store.AuditCheck, error)
	BaseRefs(ctx context.Context) (map[string][]hallmark.Digest, error)
	Tag(ctx context.Context, repository, tag string) (hallmark.Digest, error)
	RecordRegistryEvents(ctx context.Context, events []store.RegistryEvent) error
}

var _ Store = (*store.DB)(nil)

// DecisionRecorder records verification and admission decisions without
// making them wait (store.Recorder).
type DecisionRecorder interface {
	Record(d store.Decision)
}

var _ DecisionRecorder = (*store.Recorder)(nil)

// WithStore records every build in st and serves QueryService from it,
// and with a verifier (WithVerifier) StoreService, which imports images
// into it. The default is none: nothing is recorded and neither service
// is served.
func WithStore(st Store) Option {
	return func(s *Server) error { s.store = st; return nil }
}

// WithDecisionRecorder records every VerifyService decision with r. The
// default records none.
func WithDecisionRecorder(r DecisionRecorder) Option {
	return func(s *Server) error { s.decisions = r; return nil }
}

// maxDecisionReasons bounds the reasons a decision's record keeps.
const maxDecisionReasons = 20

// VerifyDecision is the record of verdict v about image ref, asked for by
// caller: kind is store.KindVerify, or store.KindAdmission for the
// webhook, which adds the namespace and object.
func VerifyDecision(kind, caller, ref string, v *verify.Verdict) store.Decision {
	d := store.Decision{
		Kind: kind, At: v.EvaluatedAt, Caller: caller, Ref: ref, Digest: v.Digest,
		Policy: v.Policy, Allowed: v.Allowed, Cached: v.Cached,
		Reasons: v.Reasons[:min(len(v.Reasons), maxDecisionReasons)],
	}
	if v.Cached || d.At.IsZero() {
		d.At = time.Now()
	}
	d.Repository = pinnedRepository(v.Pinned)
	for _, r := range v.Rules {
		if !r.Passed {
			d.FailedRules = append(d.FailedRules, r.Name)
		}
	}
	for _, p := range v.Platforms {
		for _, r := range p.Rules {
			if !r.Passed && !slices.Contains(d.FailedRules, r.Name) {
				d.FailedRules = append(d.FailedRules, r.Name)
			}
		}
	}
	return d
}

// pinnedRepos remembers the repository of pinned references: parsing one
// took a tenth of the gateway's time per admission review (ten containers,
// each a decision), and a cluster runs a bounded set of images.
var pinnedRepos = bounded.New[string, string](maxCachedRepos)

// maxCachedRepos bounds pinnedRepos.
const maxCachedRepos = 4096

// pinnedRepository returns registry.ReferenceRepository(ref), or "" for a
// reference that does not parse.
func pinnedRepository(ref string) string {
	if repo, ok := pinnedRepos.Get(ref); ok {
		return repo
	}
	repo, err := registry.ReferenceRepository(ref)
	if err != nil {
		return ""
	}
	pinnedRepos.Put(ref, repo)
	return repo
}

// actorOf names a verified caller in the audit log: "issuer subject".
func actorOf(id hallmark.Identity) string {
	return strings.TrimSpace(id.Issuer + " " + id.Subject)
}
