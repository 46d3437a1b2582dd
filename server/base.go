package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/basebuild"
	"github.com/hallmark-dev/hallmark/builder/debian"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/server/convert"
	"github.com/hallmark-dev/hallmark/store"
)

// BaseBuilder assembles base images from Debian packages and pushes them
// by digest; tags move with Builder.MoveTags.
type BaseBuilder interface {
	BuildBase(ctx context.Context, req hallmark.BaseRequest, emit func(hallmark.Event) error) (hallmark.BaseResult, error)
}

var _ BaseBuilder = (*basebuild.Builder)(nil)

// BaseAttester signs and publishes the attestations of a base image. The
// attester given to WithAttester must implement it when base builds are
// enabled.
type BaseAttester interface {
	AttestBase(ctx context.Context, req hallmark.BaseRequest, res hallmark.BaseResult, logf func(format string, args ...any), also ...hallmark.AlsoSign) ([]hallmark.Attestation, error)
}

// WithBaseBuilder enables BuildService.BuildBase with b. The default is
// none: BuildBase answers UNIMPLEMENTED.
func WithBaseBuilder(b BaseBuilder) Option {
	return func(s *Server) error { s.base = b; return nil }
}

// baseRequest validates a BuildBaseRequest. The spec is parsed here too, so
// that a bad spec fails before the build is accepted.
func baseRequest(in *hallmarkv1.BuildBaseRequest) (hallmark.BaseRequest, error) {
	var out hallmark.BaseRequest
	if n := len(in.GetSpec()); n > debian.MaxSpecBytes {
		return out, fmt.Errorf("%w: spec: %d bytes, the limit is %d", hallmark.ErrTooLarge, n, debian.MaxSpecBytes)
	}
	if _, err := debian.ParseSpec(in.GetSpec()); err != nil {
		return out, err // it names the field: "spec.packages[2]: …"
	}
	repo, err := tags(in.GetTags())
	if err != nil {
		return out, err
	}
	out.Spec, out.Repository, out.Tags = in.GetSpec(), repo, in.GetTags()
	return out, nil
}

// BuildBase builds one base image and streams its events.
func (h *buildService) BuildBase(ctx context.Context, req *connect.Request[hallmarkv1.BuildBaseRequest], stream *connect.ServerStream[hallmarkv1.BuildBaseResponse]) error {
	s := h.s
	if s.base == nil {
		return connect.NewError(connect.CodeUnimplemented, errors.New("this gateway does not build base images"))
	}
	id, ok := IdentityFromContext(ctx)
	if !ok {
		return connect.NewError(connect.CodeUnauthenticated, errors.New("no verified identity"))
	}
	in, err := baseRequest(req.Msg)
	if err != nil {
		return connectError(ctx, s.log, err)
	}
	if err := s.authz.Authorize(id, in.Repository); err != nil {
		return connectError(ctx, s.log, err)
	}
	in.ID = "base-" + time.Now().UTC().Format("20060102T150405") + "-" + newID()[:8]
	in.Requester = id
	log := s.log.With("build_id", in.ID, "repository", in.Repository, "subject", id.Subject)
	p := pipeline[hallmark.BaseResult, hallmarkv1.BuildBaseResponse]{
		kind: "base build", repository: in.Repository, tags: in.Tags, stream: stream,
		build: func(ctx context.Context, emit func(hallmark.Event) error) (hallmark.BaseResult, error) {
			return s.base.BuildBase(ctx, in, emit)
		},
		image:    func(res *hallmark.BaseResult) *hallmark.BuildResult { return &res.Build },
		event:    convert.BaseEvent,
		result:   convert.BaseResultEvent,
		finished: func(res hallmark.BaseResult) []any { return []any{"packages", len(res.Packages)} },
		record: store.Build{
			ID: in.ID, Kind: store.KindBase, Requester: recordedIdentity(id), Repository: in.Repository,
			Tags: tagMoves(in.Repository, in.Tags), Source: store.Source{Dockerfile: "(base image spec)"},
		},
	}
	if s.attester != nil {
		ba, ok := s.attester.(BaseAttester)
		if !ok { // New refuses this configuration
			return connectError(ctx, log, errors.New("the attester cannot attest base images"))
		}
		p.attest = func(ctx context.Context, res hallmark.BaseResult, logf func(string, ...any), also hallmark.AlsoSign) ([]hallmark.Attestation, error) {
			return ba.AttestBase(ctx, in, res, logf, also)
		}
	}
	return p.run(ctx, s, log)
}
