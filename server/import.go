package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"connectrpc.com/connect"
	"github.com/google/go-containerregistry/pkg/name"

	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/verify"
)

// Bounds of StoreService.ImportImages.
const (
	// maxImportImages bounds the images of one call.
	maxImportImages = 100
	// importParallel bounds the images one call verifies at once; the
	// verifier bounds verifications across calls (verify.maxConcurrent).
	importParallel = 4
	// importTimeout bounds one image: its verification and its record.
	importTimeout = 2 * time.Minute
)

// storeService serves StoreService: images imported from their registry
// into the store (docs/store.md, "Backfill").
type storeService struct {
	s *Server
}

var _ hallmarkv1connect.StoreServiceHandler = (*storeService)(nil)

// importRef is one image of an ImportImagesRequest, parsed.
type importRef struct {
	image, repo string
	// tag is the tag the image was named by, digest the digest; one is
	// set.
	tag    string
	digest hallmark.Digest
}

// ImportImages verifies each image, in a repository the caller may push
// to, and records those the policy allows, streaming one result per image
// in the order asked. Failures of one image are in its result; the call
// itself fails only for a bad request or a caller without push rights,
// before any work.
func (h *storeService) ImportImages(ctx context.Context, req *connect.Request[hallmarkv1.ImportImagesRequest], stream *connect.ServerStream[hallmarkv1.ImportImagesResponse]) error {
	s := h.s
	id, ok := IdentityFromContext(ctx)
	if !ok {
		return connectError(ctx, s.log, fmt.Errorf("%w: no verified identity", hallmark.ErrUnauthenticated))
	}
	refs, err := importRefs(req.Msg)
	if err != nil {
		return connectError(ctx, s.log, err)
	}
	for _, r := range refs {
		if err := s.authz.Authorize(id, r.repo); err != nil {
			return connectError(ctx, s.log, fmt.Errorf("import %s: %w", hallmark.Clip(r.image, 200), err))
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	imp := &importer{s: s, caller: id, policy: req.Msg.GetPolicy()}
	results := make([]chan *hallmarkv1.ImportImagesResponse, len(refs))
	jobs := make(chan int, len(refs))
	for i := range refs {
		results[i] = make(chan *hallmarkv1.ImportImagesResponse, 1)
		jobs <- i
	}
	close(jobs)
	var wg sync.WaitGroup
	for range min(importParallel, len(refs)) {
		wg.Go(func() {
			for i := range jobs {
				results[i] <- imp.one(ctx, refs[i])
			}
		})
	}
	defer wg.Wait()
	for _, res := range results {
		if err := stream.Send(<-res); err != nil {
			cancel() // the caller is gone: the images left fail fast
			return err
		}
	}
	return nil
}

// importRefs validates an ImportImagesRequest.
func importRefs(m *hallmarkv1.ImportImagesRequest) ([]importRef, error) {
	if err := noUnknownFields(m); err != nil {
		return nil, err
	}
	images := m.GetImages()
	switch {
	case len(images) == 0:
		return nil, invalid("images", "required: 1 to %d images", maxImportImages)
	case len(images) > maxImportImages:
		return nil, invalid("images", "%d images, over the limit of %d per call", len(images), maxImportImages)
	case len(m.GetPolicy()) > maxPolicyNameByte:
		return nil, invalid("policy", "%d bytes, over the %d-byte limit", len(m.GetPolicy()), maxPolicyNameByte)
	case !utf8.ValidString(m.GetPolicy()):
		return nil, invalid("policy", "not valid UTF-8")
	}
	out := make([]importRef, 0, len(images))
	for i, image := range images {
		field := fmt.Sprintf("images[%d]", i)
		if err := checkText(field, image, maxImageRefBytes); err != nil {
			return nil, err
		}
		ref, err := name.ParseReference(image)
		if err != nil {
			return nil, invalid(field, "%q is not an image reference, registry/repository@sha256:<hex> or registry/repository:tag", hallmark.Clip(image, 100))
		}
		r := importRef{image: image, repo: ref.Context().Name()}
		switch ref := ref.(type) {
		case name.Tag:
			r.tag = ref.TagStr()
		case name.Digest:
			if r.digest, err = digestFilter(field, ref.DigestStr()); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// importer imports the images of one call.
type importer struct {
	s      *Server
	caller hallmark.Identity
	policy string
	// mu makes looking for an image in the store and recording it one
	// step, so that one image named twice in a call is recorded once.
	mu sync.Mutex
}

// one imports one image and says how it went.
func (imp *importer) one(ctx context.Context, r importRef) *hallmarkv1.ImportImagesResponse {
	s := imp.s
	out := &hallmarkv1.ImportImagesResponse{Image: r.image, Repository: r.repo, Policy: imp.policy}
	defer func() { s.metrics.imports.WithLabelValues(outcomeLabel(out.GetOutcome())).Inc() }()
	if err := ctx.Err(); err != nil {
		return imp.failed(ctx, out, fmt.Errorf("%w: %w", hallmark.ErrCanceled, err))
	}
	ctx, cancel := context.WithTimeout(ctx, importTimeout)
	defer cancel()
	// By digest, an image already recorded is not verified again.
	if r.digest != "" && imp.recorded(ctx, out, r.repo, r.digest) {
		return out
	}
	start := time.Now()
	v, err := s.verifier.Verify(ctx, verify.Request{Ref: r.image, Policy: imp.policy})
	if err != nil {
		return imp.failed(ctx, out, err)
	}
	out.Digest, out.Policy = v.Digest.String(), v.Policy
	if !v.Allowed {
		out.Outcome, out.Reasons = hallmarkv1.ImportOutcome_IMPORT_OUTCOME_NOT_VERIFIED, v.Reasons
		s.log.InfoContext(ctx, "image not imported: not verified", "image", v.Pinned, "policy", v.Policy)
		return out
	}
	imp.mu.Lock()
	defer imp.mu.Unlock()
	if imp.recorded(ctx, out, r.repo, v.Digest) {
		return out
	}
	b, err := importRecord(v, imp.caller, r.image, r.repo, r.tag, time.Now())
	if err != nil {
		return imp.failed(ctx, out, err)
	}
	// The record is written even if the caller leaves now: it verified.
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer wcancel()
	if err := s.store.RecordBuild(wctx, b); err != nil {
		return imp.failed(ctx, out, err)
	}
	s.watch.prompt()
	out.Outcome, out.RecordId, out.RequesterFrom = hallmarkv1.ImportOutcome_IMPORT_OUTCOME_IMPORTED, b.ID, b.Import.RequesterFrom
	out.Bases, out.Packages = int32(len(b.Bases)), int32(len(b.Packages))
	s.log.InfoContext(ctx, "image imported", "image", v.Pinned, "record", b.ID, "policy", v.Policy, "bases", len(b.Bases),
		"packages", len(b.Packages), "requester_from", b.Import.RequesterFrom, "ms", time.Since(start).Milliseconds())
	return out
}

// recorded reports whether the store has repo@d already, or could not
// say (out then says why).
func (imp *importer) recorded(ctx context.Context, out *hallmarkv1.ImportImagesResponse, repo string, d hallmark.Digest) bool {
	rec, err := imp.s.store.Image(ctx, repo, d)
	switch {
	case err == nil:
		out.Digest, out.RecordId = d.String(), rec.BuildID
		out.Outcome = hallmarkv1.ImportOutcome_IMPORT_OUTCOME_ALREADY_RECORDED
		return true
	case errors.Is(err, store.ErrNotFound):
		return false
	}
	imp.failed(ctx, out, err)
	return true
}

// failed makes out an error result: err's Connect code and the message
// the caller may see (connectError logs an internal cause instead).
func (imp *importer) failed(ctx context.Context, out *hallmarkv1.ImportImagesResponse, err error) *hallmarkv1.ImportImagesResponse {
	out.Outcome = hallmarkv1.ImportOutcome_IMPORT_OUTCOME_ERROR
	var ce *connect.Error
	if errors.As(connectError(ctx, imp.s.log, err), &ce) {
		out.ErrorCode, out.Error = ce.Code().String(), ce.Message()
	}
	imp.s.log.InfoContext(ctx, "image not imported", "image", out.GetImage(), "code", out.GetErrorCode())
	return out
}

// outcomeLabel is the metric label of an outcome.
func outcomeLabel(o hallmarkv1.ImportOutcome) string {
	switch o {
	case hallmarkv1.ImportOutcome_IMPORT_OUTCOME_IMPORTED:
		return "imported"
	case hallmarkv1.ImportOutcome_IMPORT_OUTCOME_ALREADY_RECORDED:
		return "already_recorded"
	case hallmarkv1.ImportOutcome_IMPORT_OUTCOME_NOT_VERIFIED:
		return "not_verified"
	}
	return "error"
}
