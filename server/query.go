package server

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"github.com/google/go-containerregistry/pkg/name"

	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
	"github.com/hallmark-dev/hallmark/store"
)

// queryService serves QueryService from the store. Every query carries
// the caller's read scope (Authorizer.AuthorizeRead); the store fails
// closed without one.
type queryService struct {
	s *Server
}

var _ hallmarkv1connect.QueryServiceHandler = (*queryService)(nil)

// reader returns the caller's read scope. A caller no rule matches may
// read nothing, so it is refused before the store is asked: any holder of
// a token of a trusted issuer gets this far.
func (h *queryService) reader(ctx context.Context) (func(string) bool, error) {
	id, ok := IdentityFromContext(ctx)
	if !ok {
		return nil, fmt.Errorf("%w: no verified identity", hallmark.ErrUnauthenticated)
	}
	if len(h.s.authz.Readable(id)) == 0 {
		return nil, fmt.Errorf("%w: subject %q of issuer %q matches no authorization rule, so it may read nothing",
			hallmark.ErrPermissionDenied, hallmark.Clip(id.Subject, maxQuotedClaimBytes), hallmark.Clip(id.Issuer, maxQuotedClaimBytes))
	}
	return func(repo string) bool { return h.s.authz.AuthorizeRead(id, repo) == nil }, nil
}

// ListImages lists the images the caller may read, filtered.
func (h *queryService) ListImages(ctx context.Context, req *connect.Request[hallmarkv1.ListImagesRequest]) (*connect.Response[hallmarkv1.ListImagesResponse], error) {
	resp, err := h.listImages(ctx, req.Msg)
	if err != nil {
		return nil, connectError(ctx, h.s.log, err)
	}
	return connect.NewResponse(resp), nil
}

func (h *queryService) listImages(ctx context.Context, m *hallmarkv1.ListImagesRequest) (*hallmarkv1.ListImagesResponse, error) {
	q, err := imageQuery(m)
	if err != nil {
		return nil, err
	}
	if q.Readable, err = h.reader(ctx); err != nil {
		return nil, err
	}
	resp := &hallmarkv1.ListImagesResponse{}
	if m.GetStale() {
		if q.Stale, resp.UnresolvedBases, err = h.s.staleBases(ctx, q.Readable); err != nil {
			return nil, err
		}
		if len(q.Stale) == 0 {
			return resp, nil // no base moved: nothing is stale
		}
	}
	images, next, err := h.s.store.Images(ctx, q)
	if err != nil {
		return nil, err
	}
	resp.NextPageToken = next
	for _, im := range images {
		resp.Images = append(resp.Images, imageMsg(im))
	}
	return resp, nil
}

// imageQuery validates a ListImagesRequest.
func imageQuery(m *hallmarkv1.ListImagesRequest) (store.ImageQuery, error) {
	var q store.ImageQuery
	var err error
	if err = noUnknownFields(m); err != nil {
		return q, err
	}
	if q.Page, err = page(m.GetPageSize(), m.GetPageToken()); err != nil {
		return q, err
	}
	if q.Repository, err = repositoryFilter("repository", m.GetRepository()); err != nil {
		return q, err
	}
	if q.BaseDigest, q.BaseRef, err = baseFilter(m.GetBase()); err != nil {
		return q, err
	}
	q.Package, err = packageFilter(m.GetPackage())
	return q, err
}

// GetImage returns everything recorded about one image the caller may
// read; any other is NOT_FOUND, whether it exists or not.
func (h *queryService) GetImage(ctx context.Context, req *connect.Request[hallmarkv1.GetImageRequest]) (*connect.Response[hallmarkv1.GetImageResponse], error) {
	resp, err := h.getImage(ctx, req.Msg)
	if err != nil {
		return nil, connectError(ctx, h.s.log, err)
	}
	return connect.NewResponse(resp), nil
}

func (h *queryService) getImage(ctx context.Context, m *hallmarkv1.GetImageRequest) (*hallmarkv1.GetImageResponse, error) {
	if err := noUnknownFields(m); err != nil {
		return nil, err
	}
	if m.GetImage() == "" {
		return nil, invalid("image", "required")
	}
	can, err := h.reader(ctx)
	if err != nil {
		return nil, err
	}
	repo, d, notFound, err := h.resolveImage(ctx, "image", m.GetImage(), can)
	if err != nil {
		return nil, err
	}
	rec, err := h.s.store.Image(ctx, repo, d)
	if err != nil {
		return nil, orNotFound(err, notFound)
	}
	builds, err := buildsMsg(rec.Builds)
	if err != nil {
		return nil, err
	}
	return &hallmarkv1.GetImageResponse{
		Image: imageMsg(rec.Image), Builds: builds,
		Attestations: attestationsMsg(rec.Attestations), Events: eventsMsg(rec.Events),
	}, nil
}

// resolveImage reads an image named by digest or by a tag the gateway
// recorded, which the caller must be able to read (can). notFound is the
// one answer for an image that does not exist and one the caller may not
// read.
func (h *queryService) resolveImage(ctx context.Context, field, image string, can func(string) bool) (repo string, d hallmark.Digest, notFound, err error) {
	if err := checkText(field, image, maxQueryRefBytes); err != nil {
		return "", "", nil, err
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", "", nil, invalid(field, "%q is not an image reference, registry/repository@sha256:<hex> or registry/repository:tag", hallmark.Clip(image, 100))
	}
	notFound = fmt.Errorf("%w: image %s: the gateway recorded no such image in a repository the caller may read", hallmark.ErrNotFound, hallmark.Clip(image, 200))
	repo = ref.Context().Name()
	if !can(repo) {
		return "", "", notFound, notFound
	}
	switch r := ref.(type) {
	case name.Digest:
		if d, err = digestFilter(field, r.DigestStr()); err != nil {
			return "", "", notFound, err
		}
	case name.Tag:
		if d, err = h.s.store.Tag(ctx, repo, r.TagStr()); err != nil {
			return "", "", notFound, orNotFound(err, notFound)
		}
	}
	return repo, d, notFound, nil
}

// orNotFound is notFound if err means "not found", else err.
func orNotFound(err, notFound error) error {
	if errors.Is(err, hallmark.ErrNotFound) {
		return notFound
	}
	return err
}

// ListBuilds lists the builds of repositories the caller may read,
// filtered.
func (h *queryService) ListBuilds(ctx context.Context, req *connect.Request[hallmarkv1.ListBuildsRequest]) (*connect.Response[hallmarkv1.ListBuildsResponse], error) {
	resp, err := h.listBuilds(ctx, req.Msg)
	if err != nil {
		return nil, connectError(ctx, h.s.log, err)
	}
	return connect.NewResponse(resp), nil
}

func (h *queryService) listBuilds(ctx context.Context, m *hallmarkv1.ListBuildsRequest) (*hallmarkv1.ListBuildsResponse, error) {
	var q store.BuildQuery
	var err error
	if err = noUnknownFields(m); err != nil {
		return nil, err
	}
	if q.Page, err = page(m.GetPageSize(), m.GetPageToken()); err != nil {
		return nil, err
	}
	if err = checkWord("subject", m.GetSubject(), maxSubjectBytes); err != nil {
		return nil, err
	}
	q.Subject = m.GetSubject()
	if q.Repository, err = repositoryFilter("repository", m.GetRepository()); err != nil {
		return nil, err
	}
	if q.Since, err = timeFilter("since", m.GetSince()); err != nil {
		return nil, err
	}
	q.Outcome = m.GetOutcome()
	if q.Readable, err = h.reader(ctx); err != nil {
		return nil, err
	}
	builds, next, err := h.s.store.Builds(ctx, q)
	if err != nil {
		return nil, err
	}
	msgs, err := buildsMsg(builds)
	if err != nil {
		return nil, err
	}
	return &hallmarkv1.ListBuildsResponse{Builds: msgs, NextPageToken: next}, nil
}

// GetBuild returns one build of a repository the caller may read; any
// other is NOT_FOUND, whether it exists or not.
func (h *queryService) GetBuild(ctx context.Context, req *connect.Request[hallmarkv1.GetBuildRequest]) (*connect.Response[hallmarkv1.GetBuildResponse], error) {
	resp, err := h.getBuild(ctx, req.Msg)
	if err != nil {
		return nil, connectError(ctx, h.s.log, err)
	}
	return connect.NewResponse(resp), nil
}

func (h *queryService) getBuild(ctx context.Context, m *hallmarkv1.GetBuildRequest) (*hallmarkv1.GetBuildResponse, error) {
	if err := noUnknownFields(m); err != nil {
		return nil, err
	}
	id := m.GetId()
	if len(id) > maxBuildIDBytes || !buildIDRE.MatchString(id) {
		return nil, invalid("id", "%q is not a build id", hallmark.Clip(id, 100))
	}
	can, err := h.reader(ctx)
	if err != nil {
		return nil, err
	}
	notFound := fmt.Errorf("%w: build %s: the gateway recorded no such build in a repository the caller may read", hallmark.ErrNotFound, id)
	b, err := h.s.store.Build(ctx, id)
	if err != nil {
		return nil, orNotFound(err, notFound)
	}
	if !can(b.Repository) {
		return nil, notFound
	}
	msg, err := buildMsg(b)
	if err != nil {
		return nil, err
	}
	return &hallmarkv1.GetBuildResponse{Build: msg}, nil
}
