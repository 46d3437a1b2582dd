package server

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/server/convert"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/verify"
)

// Verifier returns verdicts; *verify.Evaluator is one.
type Verifier interface {
	Verify(ctx context.Context, req verify.Request) (*verify.Verdict, error)
}

var _ Verifier = (*verify.Evaluator)(nil)

// Limits of VerifyRequest fields.
const (
	maxImageRefBytes  = 512
	maxPolicyNameByte = 253
)

// WithVerifier serves VerifyService with v, and with a store (WithStore)
// StoreService, whose imports verify with v. The default is none: neither
// service is served.
func WithVerifier(v Verifier) Option {
	return func(s *Server) error { s.verifier = v; return nil }
}

type verifyService struct {
	s *Server
}

var _ hallmarkv1connect.VerifyServiceHandler = (*verifyService)(nil)

// Verify returns the verdict for one image in a repository the caller may
// read (Authorizer.AuthorizeRead).
func (h *verifyService) Verify(ctx context.Context, req *connect.Request[hallmarkv1.VerifyRequest]) (*connect.Response[hallmarkv1.VerifyResponse], error) {
	s := h.s
	m := req.Msg
	if err := validateVerify(m); err != nil {
		return nil, connectError(ctx, s.log, err)
	}
	if err := h.authorizeRead(ctx, m.GetImage()); err != nil {
		return nil, connectError(ctx, s.log, err)
	}
	start := time.Now()
	v, err := s.verifier.Verify(ctx, verify.Request{Ref: m.GetImage(), Policy: m.GetPolicy(), VSA: m.GetVsa(), Platform: m.GetPlatform()})
	if err != nil {
		s.metrics.verifications.WithLabelValues("error").Inc()
		return nil, connectError(ctx, s.log, err)
	}
	outcome := "denied"
	if v.Allowed {
		outcome = "allowed"
	}
	s.metrics.verifications.WithLabelValues(outcome).Inc()
	s.metrics.verifyDuration.WithLabelValues(fmt.Sprint(v.Cached)).Observe(time.Since(start).Seconds())
	s.log.InfoContext(ctx, "verified", "image", v.Pinned, "policy", v.Policy, "platform", m.GetPlatform(), "allowed", v.Allowed, "cached", v.Cached)
	if s.decisions != nil {
		id, _ := IdentityFromContext(ctx)
		s.decisions.Record(VerifyDecision(store.KindVerify, actorOf(id), m.GetImage(), v))
	}
	return connect.NewResponse(convert.Verdict(v)), nil
}

// authorizeRead checks, before any registry is asked, that the caller may
// read the repository of image, parsed the way the verifier parses it: the
// gateway reads with its own credentials, and even a "not found" would
// tell a caller what exists in a repository it may not read.
func (h *verifyService) authorizeRead(ctx context.Context, image string) error {
	id, ok := IdentityFromContext(ctx)
	if !ok {
		return fmt.Errorf("%w: no verified identity", hallmark.ErrUnauthenticated)
	}
	repo, err := registry.ReferenceRepository(image)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	return h.s.authz.AuthorizeRead(id, repo)
}

func validateVerify(m *hallmarkv1.VerifyRequest) error {
	switch {
	case m.GetImage() == "":
		return invalid("image", "required")
	case len(m.GetImage()) > maxImageRefBytes:
		return invalid("image", "%d bytes, over the %d-byte limit", len(m.GetImage()), maxImageRefBytes)
	case !utf8.ValidString(m.GetImage()):
		return invalid("image", "not valid UTF-8")
	case len(m.GetPolicy()) > maxPolicyNameByte:
		return invalid("policy", "%d bytes, over the %d-byte limit", len(m.GetPolicy()), maxPolicyNameByte)
	case !utf8.ValidString(m.GetPolicy()):
		return invalid("policy", "not valid UTF-8")
	}
	return hallmark.ValidatePlatform(m.GetPlatform())
}
