package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/debian"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// BaseBuilder assembles base images from Debian packages and pushes them
// by digest; tags move with Builder.MoveTags.
type BaseBuilder interface {
	BuildBase(ctx context.Context, req hallmark.BaseRequest, emit func(hallmark.Event) error) (hallmark.BaseResult, error)
}

// BaseAttester signs and publishes the attestations of a base image. The
// attester given to WithAttester must implement it when base builds are
// enabled.
type BaseAttester interface {
	AttestBase(ctx context.Context, req hallmark.BaseRequest, res hallmark.BaseResult, logf func(format string, args ...any)) ([]hallmark.Attestation, error)
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

	log.InfoContext(ctx, "base build accepted", "tags", in.Tags)
	start := time.Now()
	var res hallmark.BaseResult
	if err := s.track(ctx, log, func(ctx context.Context) (err error) {
		res, err = h.runBase(ctx, in, stream)
		return err
	}); err != nil {
		return err
	}
	log.InfoContext(ctx, "base build finished", "digest", res.Build.Digest, "packages", len(res.Packages), "seconds", time.Since(start).Seconds())
	return nil
}

// runBase builds, attests, moves the tags and sends the result, in that
// order: no tag points at an unattested image.
func (h *buildService) runBase(ctx context.Context, in hallmark.BaseRequest, stream *connect.ServerStream[hallmarkv1.BuildBaseResponse]) (hallmark.BaseResult, error) {
	emit := func(e hallmark.Event) error {
		var msg *hallmarkv1.BuildBaseResponse
		switch {
		case e.Accepted != nil:
			msg = &hallmarkv1.BuildBaseResponse{Event: &hallmarkv1.BuildBaseResponse_Accepted{Accepted: acceptedProto(e.Accepted)}}
		case e.Status != nil:
			msg = &hallmarkv1.BuildBaseResponse{Event: &hallmarkv1.BuildBaseResponse_Status{Status: statusProto(e.Status)}}
		default:
			return nil
		}
		if err := stream.Send(msg); err != nil {
			return fmt.Errorf("%w: send progress: %w", hallmark.ErrCanceled, err)
		}
		return nil
	}
	res, err := h.s.base.BuildBase(ctx, in, emit)
	if err != nil {
		return res, err
	}
	if h.s.attester != nil {
		ba, ok := h.s.attester.(BaseAttester)
		if !ok {
			return res, errors.New("the attester cannot attest base images")
		}
		step := newStep(emit, "[hallmark] attest: SPDX SBOM and SLSA provenance, keyless-signed, published as referrers")
		if err := step.start(); err != nil {
			return res, err
		}
		atts, err := ba.AttestBase(ctx, in, res, step.log)
		if err := step.done(err); err != nil {
			return res, err
		}
		if err != nil {
			return res, fmt.Errorf("attest %s: %w", res.Build.Pinned, err)
		}
		res.Build.Attestations = atts
	}
	if err := h.s.builder.MoveTags(ctx, in.Repository, res.Build.Digest, in.Tags); err != nil {
		return res, fmt.Errorf("move tags: %w", err)
	}
	res.Build.Finished = time.Now().UTC()
	out := &hallmarkv1.BuildBaseResult{Build: buildResultProto(res.Build)}
	for _, p := range res.Packages {
		out.Packages = append(out.Packages, &hallmarkv1.DebianPackage{
			Name: p.Name, Version: p.Version, Architecture: p.Architecture, Uri: p.URI, Sha256: p.SHA256.String(), Size: p.Size,
		})
	}
	if err := stream.Send(&hallmarkv1.BuildBaseResponse{Event: &hallmarkv1.BuildBaseResponse_Result{Result: out}}); err != nil {
		return res, fmt.Errorf("%w: send result: %w", hallmark.ErrCanceled, err)
	}
	return res, nil
}
