package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
	"github.com/hallmark-dev/hallmark/server/convert"
	"github.com/hallmark-dev/hallmark/store"
)

// Builder builds images and moves their tags.
type Builder interface {
	Build(ctx context.Context, req hallmark.BuildRequest, emit func(hallmark.Event) error) (hallmark.BuildResult, error)
	MoveTags(ctx context.Context, repository string, digest hallmark.Digest, tags []string) error
}

// Attester signs and publishes the attestations of a built image, with
// the predicates also adds in the same batch. logf reports progress lines
// to the caller.
type Attester interface {
	Attest(ctx context.Context, req hallmark.BuildRequest, res hallmark.BuildResult, logf func(format string, args ...any), also ...hallmark.AlsoSign) ([]hallmark.Attestation, error)
}

// ContextStore holds uploaded build contexts by digest, each owned by the
// identities that uploaded it (builder/contextstore.Store).
type ContextStore interface {
	// Put stores an upload for owner; existed reports that owner held it.
	Put(ctx context.Context, owner hallmark.Identity, r io.Reader, expected hallmark.Digest) (d hallmark.Digest, size int64, existed bool, err error)
	// Reuse reports whether owner holds d, renewing the ownership if so.
	Reuse(ctx context.Context, owner hallmark.Identity, d hallmark.Digest) (bool, error)
	// Lookup returns nil if owner holds d, and otherwise one not-found
	// error for contexts missing, expired or owned by others.
	Lookup(ctx context.Context, owner hallmark.Identity, d hallmark.Digest) error
}

type buildService struct {
	s *Server
}

var _ hallmarkv1connect.BuildServiceHandler = (*buildService)(nil)

// UploadContext stores a streamed context archive for the caller, who must
// match some authorization rule.
func (h *buildService) UploadContext(ctx context.Context, stream *connect.ClientStream[hallmarkv1.UploadContextRequest]) (*connect.Response[hallmarkv1.UploadContextResponse], error) {
	s := h.s
	id, ok := IdentityFromContext(ctx)
	if !ok {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("no verified identity"))
	}
	if err := s.authz.AuthorizeAny(id); err != nil {
		return nil, connectError(ctx, s.log, fmt.Errorf("upload context: %w", err))
	}
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
		// Only the caller's own upload lets it skip sending the bytes:
		// another identity's copy must not be claimed by naming its digest.
		held, err := s.contexts.Reuse(ctx, id, d)
		if err != nil {
			return nil, connectError(ctx, s.log, fmt.Errorf("store context: %w", err))
		}
		if held {
			return connect.NewResponse(&hallmarkv1.UploadContextResponse{Digest: d.String(), Existed: true}), nil
		}
	}
	r := &chunkReader{stream: stream, buf: first.GetChunk(), metrics: s.metrics}
	begin := time.Now()
	d, size, existed, err := s.contexts.Put(ctx, id, r, expected)
	if err != nil {
		return nil, connectError(ctx, s.log, fmt.Errorf("store context: %w", err))
	}
	s.log.InfoContext(ctx, "context uploaded", "digest", d, "bytes", size, "existed", existed,
		"upload_ms", time.Since(begin).Milliseconds())
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
	in.AllowRoot, in.Readable = grant.AllowRoot, grant.Readable
	in.CacheScope, in.Network = grant.CacheScope, grant.Network
	if in.ContextDigest != "" {
		// The same answer whether the context is missing or another
		// identity's: a digest published in provenance gives no access.
		if err := s.contexts.Lookup(ctx, id, in.ContextDigest); err != nil {
			return connectError(ctx, s.log, err)
		}
	}
	in.ID = "b-" + time.Now().UTC().Format("20060102T150405") + "-" + newID()[:8]
	in.Requester = id
	log := s.log.With("build_id", in.ID, "repository", in.Repository, "subject", id.Subject)
	p := pipeline[hallmark.BuildResult, hallmarkv1.BuildResponse]{
		kind: "build", repository: in.Repository, tags: in.Tags, stream: stream,
		build: func(ctx context.Context, emit func(hallmark.Event) error) (hallmark.BuildResult, error) {
			return s.builder.Build(ctx, in, emit)
		},
		image:  func(res *hallmark.BuildResult) *hallmark.BuildResult { return res },
		event:  convert.BuildEvent,
		result: convert.BuildResultEvent,
		record: store.Build{
			ID: in.ID, Kind: store.KindBuild, Requester: recordedIdentity(id), Repository: in.Repository, Platforms: in.Platforms,
			Tags: tagMoves(in.Repository, in.Tags), Source: buildSource(in),
		},
	}
	if s.attester != nil {
		p.attest = func(ctx context.Context, res hallmark.BuildResult, logf func(string, ...any), also hallmark.AlsoSign) ([]hallmark.Attestation, error) {
			return s.attester.Attest(ctx, in, res, logf, also)
		}
	}
	return p.run(ctx, s, log)
}

// buildSource is what a build request builds, for its record.
func buildSource(in hallmark.BuildRequest) store.Source {
	src := store.Source{ContextDigest: in.ContextDigest, Dockerfile: in.Dockerfile}
	if in.DockerfileInline != nil {
		src.Dockerfile = "(inline)"
	}
	if g := in.Git; g != nil {
		src.GitURL, src.GitCommit, src.GitSubdir = g.URL, g.Commit, g.Subdir
	}
	return src
}
