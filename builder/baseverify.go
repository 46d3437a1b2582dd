package builder

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	hallmark "github.com/hallmark-dev/hallmark"
)

// BaseVerifier decides whether a base image carries valid attestations
// (package verify does, behind an adapter in cmd/hallmarkd).
type BaseVerifier interface {
	// VerifyBase verifies the image pinned ("registry/repo@sha256:…"). A
	// base that is not acceptable is a verdict with Allowed false and
	// reasons; errors mean it could not be evaluated.
	VerifyBase(ctx context.Context, pinned string) (BaseVerdict, error)
}

// BaseVerdict is a BaseVerifier's answer.
type BaseVerdict struct {
	Allowed bool
	// Policy names the verification policy that decided.
	Policy string
	// Reasons say why a base was refused.
	Reasons []string
}

// WithBaseVerifier requires every base image to carry attestations that v
// accepts, verified after the bases are pinned and before the build is
// queued: a poisoned or unattested base is refused. The decision is
// recorded in the provenance (basePolicy.bases[].verifiedBy). The default
// is none: bases are not verified.
func WithBaseVerifier(v BaseVerifier) Option {
	return func(o *options) error {
		if v == nil {
			return errors.New("base verifier is nil")
		}
		o.baseVerifier = v
		return nil
	}
}

// verifyBases verifies every pinned base in parallel and returns the
// policy that accepted them, or "" when no verifier is configured. A
// refused base fails with hallmark.ErrInvalid naming the stage, the image
// and the reasons; a base that could not be verified fails with the
// verifier's error (hallmark.ErrUnavailable, say): never built upon.
func (b *Builder) verifyBases(ctx context.Context, info *DockerfileInfo, bases []hallmark.ResolvedBase) (string, error) {
	v := b.opts.baseVerifier
	if v == nil || len(bases) == 0 {
		return "", nil
	}
	verdicts := make([]BaseVerdict, len(bases))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, base := range bases {
		g.Go(func() error {
			vd, err := v.VerifyBase(gctx, base.Pinned)
			if err != nil {
				return fmt.Errorf("verify base image %q: %w", base.Ref, err)
			}
			verdicts[i] = vd
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return "", err
	}
	var problems []string
	for i, vd := range verdicts {
		if vd.Allowed {
			continue
		}
		reasons := strings.Join(vd.Reasons, "; ")
		if len(reasons) > 600 {
			reasons = reasons[:600] + "…"
		}
		problems = append(problems, fmt.Sprintf("%s: base image %q (%s) is not attested as policy %q requires: %s",
			info.stageOf(bases[i].Ref), hallmark.Clip(bases[i].Ref, 200), bases[i].Digest, vd.Policy, reasons))
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("%w: %s", hallmark.ErrInvalid, strings.Join(problems, "\n"))
	}
	return verdicts[0].Policy, nil
}
