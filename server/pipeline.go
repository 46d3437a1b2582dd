package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

// attestStep names the progress vertex of attesting, in every build.
const attestStep = "[hallmark] attest: SPDX SBOM and SLSA provenance, keyless-signed, published as referrers"

// pipeline is one build RPC: what it builds, how it attests the result and
// how it streams events. R is the build's result, M the RPC's response
// message. run puts the stages in the one order every build follows: build
// and push by digest, attest, move the tags, send the result. No tag ever
// points at an unattested image: when anything before fails, no tag moves.
type pipeline[R, M any] struct {
	// kind names the build in logs: "build", "base build".
	kind string
	// repository and tags are the authorized request's (never the
	// builder's echo of them): the tags move to the built digest.
	repository string
	tags       []string
	stream     *connect.ServerStream[M]

	// build builds the image and pushes it by digest only, streaming its
	// progress to emit.
	build func(ctx context.Context, emit func(hallmark.Event) error) (R, error)
	// attest signs and publishes the attestations of the built image and
	// what also adds (the vulnerability scan), reporting progress lines to
	// logf; nil when the gateway has no attester.
	attest func(ctx context.Context, res R, logf func(format string, args ...any), also hallmark.AlsoSign) ([]hallmark.Attestation, error)
	// image is the part of a result every build has: digest, pinned
	// reference, attestations, times.
	image func(res *R) *hallmark.BuildResult
	// event is the response message of a progress event, or nil to drop it.
	event func(hallmark.Event) *M
	// result is the response message of the result.
	result func(R) *M
	// finished, if set, gives the attributes a finished build logs between
	// its digest and its duration.
	finished func(R) []any
	// record is the request's part of the build's store record.
	record store.Build
}

// run runs the build under the gateway's build timeout, counts it in the
// metrics and logs it, and returns the error to send.
func (p pipeline[R, M]) run(ctx context.Context, s *Server, log *slog.Logger) error {
	log.InfoContext(ctx, p.kind+" accepted", "tags", p.tags)
	start := time.Now()
	p.record.Started = start.UTC()
	live := s.startLive(ctx, log, p.record)
	defer live.end()
	var (
		res      R
		recorded bool
	)
	if err := s.track(ctx, log, func(ctx context.Context) (err error) {
		res, recorded, err = p.stages(ctx, s, log, live)
		return err
	}); err != nil {
		if !recorded {
			live.end()
			var img *hallmark.BuildResult
			if i := p.image(&res); i.Digest != "" {
				img = i
			}
			s.recordBuild(ctx, log, buildRecord(p.record, img, err))
		}
		return err
	}
	attrs := []any{"digest", p.image(&res).Digest}
	if p.finished != nil {
		attrs = append(attrs, p.finished(res)...)
	}
	log.InfoContext(ctx, p.kind+" finished", append(attrs, "seconds", time.Since(start).Seconds())...)
	return nil
}

// stages builds, attests, moves the tags, records the build and sends the
// result, in that order, keeping live's record of the running build
// current. recorded says the build's final record was written.
func (p pipeline[R, M]) stages(ctx context.Context, s *Server, log *slog.Logger, live *liveRecord) (_ R, recorded bool, _ error) {
	emit := func(e hallmark.Event) error {
		live.observe(e)
		msg := p.event(e)
		if msg == nil {
			return nil
		}
		if err := p.stream.Send(msg); err != nil {
			return fmt.Errorf("%w: send progress: %w", hallmark.ErrCanceled, err)
		}
		return nil
	}
	res, err := p.build(ctx, emit)
	if err != nil {
		return res, false, err
	}
	img := p.image(&res)
	if p.attest != nil {
		live.phase(store.PhaseAttesting)
		step, err := hallmark.StartStep(emit, attestStep)
		if err != nil {
			return res, false, err
		}
		// The scan reads the SBOMs' purls before they are signed and is
		// signed with them; a blocking finding fails the build before
		// anything is signed or any tag moves.
		atts, err := p.attest(ctx, res, step.Logf, s.scanHook(emit, img, log))
		// Attesting fails with hallmark.ErrBuildFailed only when the scan
		// blocked the build, and the scan's own step says why.
		blocked := errors.Is(err, hallmark.ErrBuildFailed)
		stepErr := err
		if blocked {
			stepErr = errors.New("nothing signed: the vulnerability scan blocked the build")
		}
		if err := step.Done(stepErr); err != nil {
			return res, false, err
		}
		if blocked {
			return res, false, err
		}
		if err != nil {
			return res, false, fmt.Errorf("attest %s: %w", img.Pinned, err)
		}
		img.Attestations = atts
	}
	live.phase(store.PhaseTagging)
	tagStart := time.Now()
	if err := s.builder.MoveTags(ctx, p.repository, img.Digest, p.tags); err != nil {
		return res, false, fmt.Errorf("move tags: %w", err)
	}
	log.DebugContext(ctx, "tags moved", "ms", time.Since(tagStart).Milliseconds())
	img.Finished = time.Now().UTC()
	live.end()
	if !s.recordBuild(ctx, log, buildRecord(p.record, img, nil)) {
		img.Warnings = append(img.Warnings, notRecorded)
	}
	if err := p.stream.Send(p.result(res)); err != nil {
		return res, true, fmt.Errorf("%w: send result: %w", hallmark.ErrCanceled, err)
	}
	return res, true, nil
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
