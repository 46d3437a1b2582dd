package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// Builder builds images and moves their tags.
type Builder interface {
	Build(ctx context.Context, req hallmark.BuildRequest, emit func(hallmark.Event) error) (hallmark.BuildResult, error)
	MoveTags(ctx context.Context, repository string, digest hallmark.Digest, tags []string) error
}

// Attester signs and publishes the attestations of a built image. logf
// reports progress lines to the caller.
type Attester interface {
	Attest(ctx context.Context, req hallmark.BuildRequest, res hallmark.BuildResult, logf func(format string, args ...any)) ([]hallmark.Attestation, error)
}

// ContextStore holds uploaded build contexts by digest.
type ContextStore interface {
	Put(ctx context.Context, r io.Reader, expected hallmark.Digest) (hallmark.Digest, int64, bool, error)
	Has(d hallmark.Digest) bool
}

type buildService struct {
	s *Server
}

var _ hallmarkv1connect.BuildServiceHandler = (*buildService)(nil)

// UploadContext stores a streamed context archive.
func (h *buildService) UploadContext(ctx context.Context, stream *connect.ClientStream[hallmarkv1.UploadContextRequest]) (*connect.Response[hallmarkv1.UploadContextResponse], error) {
	s := h.s
	if !stream.Receive() {
		if err := stream.Err(); err != nil {
			return nil, connectError(ctx, s.log, err)
		}
		return nil, connectError(ctx, s.log, fmt.Errorf("%w: upload is empty", hallmark.ErrInvalid))
	}
	first := stream.Msg()
	var expected hallmark.Digest
	if e := first.GetExpectedDigest(); e != "" {
		d, err := hallmark.ParseDigest(e)
		if err != nil {
			return nil, connectError(ctx, s.log, fmt.Errorf("expected_digest: %w", err))
		}
		expected = d
		if s.contexts.Has(d) {
			return connect.NewResponse(&hallmarkv1.UploadContextResponse{Digest: d.String(), Existed: true}), nil
		}
	}
	r := &chunkReader{stream: stream, buf: first.GetChunk(), metrics: s.metrics}
	d, size, existed, err := s.contexts.Put(ctx, r, expected)
	if err != nil {
		return nil, connectError(ctx, s.log, fmt.Errorf("store context: %w", err))
	}
	s.log.InfoContext(ctx, "context uploaded", "digest", d, "bytes", size, "existed", existed)
	return connect.NewResponse(&hallmarkv1.UploadContextResponse{Digest: d.String(), Size: size, Existed: existed}), nil
}

// chunkReader reads the chunks of an upload stream as one byte stream.
type chunkReader struct {
	stream  *connect.ClientStream[hallmarkv1.UploadContextRequest]
	buf     []byte
	metrics *Metrics
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if !r.stream.Receive() {
			if err := r.stream.Err(); err != nil {
				return 0, fmt.Errorf("receive upload: %w", err)
			}
			return 0, io.EOF
		}
		r.buf = r.stream.Msg().GetChunk()
		if r.stream.Msg().GetExpectedDigest() != "" {
			return 0, fmt.Errorf("%w: expected_digest is only read from the first message", hallmark.ErrInvalid)
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	if r.metrics != nil {
		r.metrics.uploaded.Add(float64(n))
	}
	return n, nil
}

// Build runs one build and streams its events.
func (h *buildService) Build(ctx context.Context, req *connect.Request[hallmarkv1.BuildRequest], stream *connect.ServerStream[hallmarkv1.BuildResponse]) error {
	s := h.s
	in, err := buildRequest(req.Msg)
	if err != nil {
		return connectError(ctx, s.log, err)
	}
	id, ok := IdentityFromContext(ctx)
	if !ok {
		return connect.NewError(connect.CodeUnauthenticated, errors.New("no verified identity"))
	}
	grant, err := s.authz.Grant(id, in.Repository)
	if err != nil {
		return connectError(ctx, s.log, err)
	}
	in.AllowRoot = grant.AllowRoot
	if in.ContextDigest != "" && !s.contexts.Has(in.ContextDigest) {
		return connectError(ctx, s.log, fmt.Errorf("%w: context %s was not uploaded (or has expired); call UploadContext first", hallmark.ErrNotFound, in.ContextDigest))
	}
	in.ID = "b-" + time.Now().UTC().Format("20060102T150405") + "-" + newID()[:8]
	in.Requester = id
	log := s.log.With("build_id", in.ID, "repository", in.Repository, "subject", id.Subject)

	log.InfoContext(ctx, "build accepted", "tags", in.Tags)
	start := time.Now()
	var res hallmark.BuildResult
	if err := s.track(ctx, log, func(ctx context.Context) (err error) {
		res, err = h.run(ctx, in, stream)
		return err
	}); err != nil {
		return err
	}
	log.InfoContext(ctx, "build finished", "digest", res.Digest, "seconds", time.Since(start).Seconds())
	return nil
}

// track runs one build under the gateway's build timeout and counts it in
// the metrics, labelled with the code the caller gets; it returns the error
// to send.
func (s *Server) track(ctx context.Context, log *slog.Logger, run func(context.Context) error) error {
	ctx, cancel := context.WithTimeoutCause(ctx, s.timeout, fmt.Errorf("build took longer than the gateway's limit of %s: %w", s.timeout, context.DeadlineExceeded))
	defer cancel()
	start := time.Now()
	s.metrics.started.Inc()
	err := run(ctx)
	result, code := "succeeded", "ok"
	if err != nil {
		err = connectError(ctx, log, err)
		result, code = "failed", connect.CodeOf(err).String()
		if connect.CodeOf(err) == connect.CodeCanceled {
			result = "canceled"
		}
	}
	s.metrics.finished.WithLabelValues(result, code).Inc()
	s.metrics.duration.WithLabelValues(result).Observe(time.Since(start).Seconds())
	return err
}

// run builds, moves the tags, and sends the result. Tags move only after the
// image is complete; if anything before fails, no tag moves.
func (h *buildService) run(ctx context.Context, in hallmark.BuildRequest, stream *connect.ServerStream[hallmarkv1.BuildResponse]) (hallmark.BuildResult, error) {
	emit := func(e hallmark.Event) error {
		msg := eventProto(e)
		if msg == nil {
			return nil
		}
		if err := stream.Send(msg); err != nil {
			return fmt.Errorf("%w: send progress: %w", hallmark.ErrCanceled, err)
		}
		return nil
	}
	res, err := h.s.builder.Build(ctx, in, emit)
	if err != nil {
		return res, err
	}
	if h.s.attester != nil {
		step := newStep(emit, "[hallmark] attest: SPDX SBOM and SLSA provenance, keyless-signed, published as referrers")
		if err := step.start(); err != nil {
			return res, err
		}
		atts, err := h.s.attester.Attest(ctx, in, res, step.log)
		if err := step.done(err); err != nil {
			return res, err
		}
		if err != nil {
			return res, fmt.Errorf("attest %s: %w", res.Pinned, err)
		}
		res.Attestations = atts
	}
	// The authorized request, not the builder's echo of it, names the tags.
	tagStart := time.Now()
	if err := h.s.builder.MoveTags(ctx, in.Repository, res.Digest, in.Tags); err != nil {
		return res, fmt.Errorf("move tags: %w", err)
	}
	h.s.log.DebugContext(ctx, "tags moved", "build_id", in.ID, "ms", time.Since(tagStart).Milliseconds())
	res.Finished = time.Now().UTC()
	if err := stream.Send(resultProto(res)); err != nil {
		return res, fmt.Errorf("%w: send result: %w", hallmark.ErrCanceled, err)
	}
	return res, nil
}
