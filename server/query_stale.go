package server

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/errgroup"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/store"
)

// Bounds of the stale-image check (ListImagesRequest.stale).
const (
	// maxStaleRefs is the most base tags one check resolves, the store's
	// limit of ImageQuery.Stale.
	maxStaleRefs = 1000
	// staleParallel bounds the registry requests of one check.
	staleParallel = 8
	// staleRefTimeout bounds the resolution of one tag, staleBudget all of
	// them: a tag not resolved by then is reported, not waited for.
	staleRefTimeout = 10 * time.Second
	staleBudget     = 30 * time.Second
	// staleTTL is how long a resolution (or its failure) is reused, so
	// that following the pages of one list costs one round of requests.
	staleTTL = time.Minute
	// maxStaleCache bounds the resolutions kept.
	maxStaleCache = 4 * maxStaleRefs
)

// TagResolver resolves an image reference by tag to the digest it points
// at now, at its registry.
type TagResolver interface {
	Resolve(ctx context.Context, ref string) (hallmark.Digest, error)
}

// BuilderTagResolver is the TagResolver of the gateway: builder.Resolver,
// which asks the reference's registry with the gateway's registry client
// (HEAD, else GET), as it does to pin a build's bases.
type BuilderTagResolver struct {
	Resolver *builder.Resolver
}

// Resolve returns the digest ref points at now.
func (r BuilderTagResolver) Resolve(ctx context.Context, ref string) (hallmark.Digest, error) {
	rb, err := r.Resolver.Resolve(ctx, ref)
	if err != nil {
		return "", err
	}
	return rb.Digest, nil
}

// WithTagResolver lets QueryService.ListImages find stale images, resolving
// base tags with r (BuilderTagResolver in the gateway). The default is
// none: asking for stale images is UNAVAILABLE.
func WithTagResolver(r TagResolver) Option {
	return func(s *Server) error {
		if r == nil {
			return fmt.Errorf("%w: tag resolver is nil", hallmark.ErrInvalid)
		}
		s.tags = &tagCache{r: r, now: time.Now, entries: map[string]tagEntry{}}
		return nil
	}
}

// tagCache resolves tags through a TagResolver, reusing answers for
// staleTTL.
type tagCache struct {
	r   TagResolver
	now func() time.Time

	mu      sync.Mutex
	entries map[string]tagEntry
}

type tagEntry struct {
	digest hallmark.Digest
	reason string // why it did not resolve; "" when it did
	at     time.Time
}

// resolve returns the digest ref points at, or why it could not tell.
func (c *tagCache) resolve(ctx context.Context, log *slog.Logger, ref string) (hallmark.Digest, string) {
	c.mu.Lock()
	e, ok := c.entries[ref]
	c.mu.Unlock()
	if ok && c.now().Sub(e.at) < staleTTL {
		return e.digest, e.reason
	}
	if ctx.Err() != nil {
		return "", fmt.Sprintf("not checked: the check's %s budget ran out", staleBudget)
	}
	rctx, cancel := context.WithTimeout(ctx, staleRefTimeout)
	d, err := c.r.Resolve(rctx, ref)
	cancel()
	if err != nil && ctx.Err() != nil {
		return "", fmt.Sprintf("not checked: the check's %s budget ran out", staleBudget)
	}
	e = tagEntry{digest: d, at: c.now()}
	if err != nil {
		e.digest, e.reason = "", unresolvedReason(err)
		log.InfoContext(ctx, "base tag not resolved", "ref", ref, "error", err)
	}
	c.mu.Lock()
	if len(c.entries) >= maxStaleCache {
		clear(c.entries)
	}
	c.entries[ref] = e
	c.mu.Unlock()
	return e.digest, e.reason
}

// unresolvedReasons say why a tag did not resolve, by the error's class
// only: registry errors may carry URLs and bodies the caller need not see.
var unresolvedReasons = map[error]string{
	hallmark.ErrNotFound:         "the registry does not have it",
	hallmark.ErrPermissionDenied: "the registry refused the gateway access",
	hallmark.ErrUnavailable:      "the registry could not be reached",
	context.DeadlineExceeded:     fmt.Sprintf("the registry did not answer within %s", staleRefTimeout),
	hallmark.ErrInvalid:          "not a valid image reference",
}

func unresolvedReason(err error) string {
	if r, ok := unresolvedReasons[hallmark.Class(err)]; ok {
		return r
	}
	return "could not be resolved"
}

// StaleBases is staleBases, for the web view's stale filter: the same
// resolution as ListImages with stale set.
func (s *Server) StaleBases(ctx context.Context, readable func(string) bool) ([]store.Base, []string, error) {
	return s.staleBases(ctx, readable)
}

// staleBases resolves the base tags the recorded images were built on, of
// repositories the caller may read, and returns those whose tag now points
// at a different digest than one recorded (with the digest it points at
// now), and "REFERENCE: reason" for those it could not resolve.
func (s *Server) staleBases(ctx context.Context, readable func(string) bool) ([]store.Base, []string, error) {
	if s.tags == nil {
		return nil, nil, fmt.Errorf("%w: stale: this gateway resolves no base tags (it has no tag resolver)", hallmark.ErrUnavailable)
	}
	recorded, err := s.store.BaseRefs(ctx)
	if err != nil {
		return nil, nil, err
	}
	var refs, unresolved []string
	for _, ref := range slices.Sorted(maps.Keys(recorded)) {
		r, err := name.ParseReference(ref)
		if err != nil || !readable(r.Context().Name()) {
			continue
		}
		if len(refs) == maxStaleRefs {
			unresolved = append(unresolved, fmt.Sprintf("%s: not checked: over the limit of %d base tags", ref, maxStaleRefs))
			continue
		}
		refs = append(refs, ref)
	}
	bctx, cancel := context.WithTimeout(ctx, staleBudget)
	defer cancel()
	current := make([]hallmark.Digest, len(refs))
	reasons := make([]string, len(refs))
	var g errgroup.Group
	g.SetLimit(staleParallel)
	for i, ref := range refs {
		g.Go(func() error {
			current[i], reasons[i] = s.tags.resolve(bctx, s.log, ref)
			return nil
		})
	}
	_ = g.Wait() // the goroutines return no errors
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("stale: %w", err)
	}
	var stale []store.Base
	for i, ref := range refs {
		switch {
		case reasons[i] != "":
			unresolved = append(unresolved, ref+": "+reasons[i])
		case slices.ContainsFunc(recorded[ref], func(d hallmark.Digest) bool { return d != current[i] }):
			stale = append(stale, store.Base{Ref: ref, Digest: current[i]})
		}
	}
	slices.Sort(unresolved)
	return stale, unresolved, nil
}
