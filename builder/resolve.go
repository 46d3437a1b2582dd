package builder

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/bounded"
	"github.com/hallmark-dev/hallmark/registry"
)

// maxParallelResolves bounds the registry requests of one ResolveAll.
const maxParallelResolves = 8

// Resolver pins image references to the digests they point at in their
// registries. It is safe for concurrent use.
type Resolver struct {
	// reg keeps one authenticated transport per repository across builds,
	// so resolving a base costs one request, not a ping and a token
	// exchange first.
	reg *registry.Client
	// found, if set, keeps the refs pinned by digest that were found, so
	// that the builds on a pinned base ask its registry once: what a
	// digest names never changes, and BuildKit reads it by that digest.
	found *bounded.Map[string, hallmark.ResolvedBase]
}

// maxFoundPins bounds the pinned refs a builder's Resolver keeps.
const maxFoundPins = 1024

// NewResolver returns a Resolver that reaches registries through reg.
func NewResolver(reg *registry.Client) (*Resolver, error) {
	if reg == nil {
		return nil, fmt.Errorf("%w: registry client is nil", hallmark.ErrInvalid)
	}
	return &Resolver{reg: reg}, nil
}

// Resolve returns the digest ref points at: the manifest or, for a
// multi-platform image, the index (BuildKit picks the platform). A ref
// already pinned by digest is checked to exist (by a builder's Resolver,
// once). Errors wrap
// hallmark.ErrInvalid for a malformed ref, hallmark.ErrNotFound for a
// missing image, hallmark.ErrPermissionDenied when the registry refuses
// access and hallmark.ErrUnavailable when it cannot be reached.
func (r *Resolver) Resolve(ctx context.Context, ref string) (hallmark.ResolvedBase, error) {
	parsed, err := r.reg.ParseReference(ref)
	if err != nil {
		return hallmark.ResolvedBase{}, fmt.Errorf("resolve base %q: %w", hallmark.Clip(ref, 200), err)
	}
	_, pinned := parsed.(name.Digest)
	if pinned && r.found != nil {
		if rb, ok := r.found.Get(parsed.String()); ok {
			rb.Ref = ref
			return rb, nil
		}
	}
	opts := r.reg.RemoteOptions(ctx)
	var dgst v1.Hash
	desc, err := remote.Head(parsed, opts...)
	if err == nil {
		dgst = desc.Digest
	} else if fallbackToGet(err) {
		// Some registries answer HEAD poorly (no digest header, 405);
		// GET also gives an error body naming the cause.
		full, gerr := remote.Get(parsed, opts...)
		if gerr != nil {
			return hallmark.ResolvedBase{}, classify(ctx, ref, parsed, gerr)
		}
		dgst = full.Digest
	} else {
		return hallmark.ResolvedBase{}, classify(ctx, ref, parsed, err)
	}
	if d, ok := parsed.(name.Digest); ok && dgst.String() != d.DigestStr() {
		return hallmark.ResolvedBase{}, fmt.Errorf("resolve base %q: registry %s answered with digest %s", ref, parsed.Context().RegistryStr(), dgst)
	}
	hd, err := hallmark.ParseDigest(dgst.String())
	if err != nil {
		return hallmark.ResolvedBase{}, fmt.Errorf("resolve base %q: %w", ref, err)
	}
	rb := hallmark.ResolvedBase{Ref: ref, Pinned: parsed.Context().Name() + "@" + hd.String(), Digest: hd}
	if pinned && r.found != nil {
		r.found.Put(parsed.String(), rb)
	}
	return rb, nil
}

// fallbackToGet reports whether a failed HEAD is worth a GET: not when the
// registry could not be reached or refused access.
func fallbackToGet(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	switch te.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return false
	}
	return te.StatusCode < 500
}

// classify wraps an error from resolving ref in the sentinel error for its
// cause, naming the ref and registry.
func classify(ctx context.Context, ref string, parsed name.Reference, err error) error {
	reg := parsed.Context().RegistryStr()
	class := registry.Class(ctx, err)
	switch {
	case errors.Is(class, hallmark.ErrNotFound):
		return fmt.Errorf("resolve base %q: %w: base image %q not found in registry %s", ref, class, ref, reg)
	case errors.Is(class, hallmark.ErrPermissionDenied):
		return fmt.Errorf("resolve base %q: %w: registry %s refused access to %s (the repository does not exist or needs credentials)", ref, class, reg, parsed.Context().RepositoryStr())
	case class == nil:
		return fmt.Errorf("resolve base %q: registry %s: %w", ref, reg, err)
	default:
		return fmt.Errorf("resolve base %q: %w: registry %s: %w", ref, class, reg, err)
	}
}

// ResolveAll resolves refs in parallel and returns one result per distinct
// ref, in the order of refs. The first error stops the rest.
func (r *Resolver) ResolveAll(ctx context.Context, refs []string) ([]hallmark.ResolvedBase, error) {
	var uniq []string
	seen := map[string]bool{}
	for _, ref := range refs {
		if !seen[ref] {
			seen[ref] = true
			uniq = append(uniq, ref)
		}
	}
	out := make([]hallmark.ResolvedBase, len(uniq))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxParallelResolves)
	for i, ref := range uniq {
		g.Go(func() error {
			rb, err := r.Resolve(gctx, ref)
			out[i] = rb
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// NamedContexts returns dockerfile-frontend attributes that make BuildKit
// build every base from its pinned digest without rewriting the
// Dockerfile: "context:<name>" = "docker-image://<pinned>". The frontend
// looks a base up under the familiar form of its normalized name, without
// a ":latest" tag (dockerui.Client.NamedContext), so "alpine",
// "alpine:latest" and "docker.io/library/alpine" all use the key
// "context:alpine". Refs BuildKit cannot parse are left out; of refs with
// the same key the first wins.
//
// A named context also replaces a Dockerfile stage of the same name;
// InspectDockerfile rejects Dockerfiles where that could happen.
func NamedContexts(bases []hallmark.ResolvedBase) map[string]string {
	attrs := make(map[string]string, len(bases))
	for _, b := range bases {
		k, err := contextName(b.Ref)
		if err != nil {
			continue
		}
		if _, dup := attrs["context:"+k]; !dup {
			attrs["context:"+k] = "docker-image://" + b.Pinned
		}
	}
	return attrs
}

// normalizeName returns ref the way BuildKit's dockerfile frontend names an
// image source: fully qualified, with ":latest" when it has neither tag nor
// digest ("docker.io/library/alpine:latest").
func normalizeName(ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", err
	}
	return reference.TagNameOnly(named).String(), nil
}

// contextName returns the name under which BuildKit's dockerfile frontend
// looks up a named context for the base image ref. dockerfile2llb first
// normalizes the base (resolveBaseImage: TagNameOnly(ParseNormalizedNamed))
// and dockerui.Client.NamedContext then reduces it to
// TrimSuffix(FamiliarString(ParseNormalizedNamed(name)), ":latest").
func contextName(ref string) (string, error) {
	n, err := normalizeName(ref)
	if err != nil {
		return "", err
	}
	named, err := reference.ParseNormalizedNamed(n)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(reference.FamiliarString(named), ":latest"), nil
}
