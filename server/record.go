package server

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/provenance"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/store"
)

// A build's record is written before its result is sent: recordAttempts
// tries, recordBackoff apart, each bounded by recordTimeout. A build whose
// record could not be written still succeeds; its result says so.
const (
	recordAttempts = 3
	recordBackoff  = 200 * time.Millisecond
	recordTimeout  = 5 * time.Second
)

// recordBuild writes b to the store with a bounded retry, on a context
// that the caller's cancellation does not end. It reports whether b was
// recorded; a gateway without a store records nothing and reports true.
func (s *Server) recordBuild(ctx context.Context, log *slog.Logger, b *store.Build) bool {
	if s.store == nil {
		return true
	}
	ctx = context.WithoutCancel(ctx)
	start := time.Now()
	var err error
	for attempt := range recordAttempts {
		if attempt > 0 {
			time.Sleep(recordBackoff << (attempt - 1))
		}
		actx, cancel := context.WithTimeout(ctx, recordTimeout)
		err = s.store.RecordBuild(actx, b)
		cancel()
		if err == nil || errors.Is(err, hallmark.ErrInvalid) || errors.Is(err, hallmark.ErrTooLarge) {
			break
		}
	}
	if err != nil {
		s.metrics.recordsMissing.Inc()
		log.ErrorContext(ctx, "build not recorded", "error", err, "attempts", recordAttempts)
		return false
	}
	log.DebugContext(ctx, "build recorded", "ms", time.Since(start).Milliseconds())
	s.watch.prompt()
	return true
}

// notRecorded is the warning a build's result carries when its record is
// missing from the store.
const notRecorded = "the gateway's store did not record this build (it succeeded; queries and the audit log will not show it until the image is imported with hallmark store import)"

// buildRecord is the record of a build that got as far as img (nil when
// it failed before a result), ending with err.
func buildRecord(req store.Build, img *hallmark.BuildResult, err error) *store.Build {
	b := req
	b.Tags = nil // until they moved
	b.Outcome, b.Finished = store.OutcomeSucceeded, time.Now().UTC()
	if err != nil {
		b.Outcome, b.Error = store.OutcomeFailed, err.Error()
		// err is what the caller was sent: a Connect error by then.
		if errors.Is(err, hallmark.ErrCanceled) || errors.Is(err, context.Canceled) || connect.CodeOf(err) == connect.CodeCanceled {
			b.Outcome = store.OutcomeCanceled
		}
	}
	if img == nil {
		return &b
	}
	if !img.Started.IsZero() {
		b.Started = img.Started
	}
	if !img.Finished.IsZero() {
		b.Finished = img.Finished
	}
	b.Digest = img.Digest
	b.Source.DockerfileDigest, b.Source.Frontend = img.DockerfileDigest, img.Frontend
	b.Worker = workerName(img.BuildKit)
	for _, rb := range img.Bases {
		b.Bases = append(b.Bases, recordBase(rb, img.RuntimeBase))
	}
	if err != nil {
		return &b
	}
	b.Tags = slices.Clone(req.Tags)
	var purls []string
	for _, a := range img.Attestations {
		b.Attestations = append(b.Attestations, store.Attestation{
			PredicateType: a.PredicateType, Digest: a.Digest, Signer: a.SignerIdentity, Issuer: a.SignerIssuer,
			LogIndex: a.LogIndex, SignedAt: a.Timestamp,
		})
		purls = append(purls, a.Packages...)
	}
	slices.Sort(purls)
	for _, p := range slices.Compact(purls) {
		if pkg, err := store.PackageOf(p); err == nil {
			b.Packages = append(b.Packages, pkg)
		}
	}
	return &b
}

// recordedIdentity is the requester as a build's record keeps it: what the
// provenance records (provenance.RequesterOf), never every claim of the
// token: anyone who may read the repository may read the record.
func recordedIdentity(id hallmark.Identity) hallmark.Identity {
	r := provenance.RequesterOf(id)
	out := hallmark.Identity{Issuer: r.Issuer, Subject: r.Subject}
	if len(r.Claims) > 0 {
		out.Claims = make(map[string]any, len(r.Claims))
		for k, v := range r.Claims {
			out.Claims[k] = v
		}
	}
	return out
}

// recordBase names a base by its normalized reference and repository.
func recordBase(rb hallmark.ResolvedBase, runtime *hallmark.ResolvedBase) store.Base {
	ref := rb.Ref
	if n, err := registry.NormalizeReference(ref); err == nil {
		ref = n
	}
	repo, err := registry.ReferenceRepository(rb.Pinned)
	if err != nil {
		repo, _, _ = strings.Cut(rb.Pinned, "@")
	}
	return store.Base{
		Ref: ref, Repository: repo, Digest: rb.Digest,
		Runtime: runtime != nil && runtime.Digest == rb.Digest && runtime.Ref == rb.Ref,
	}
}

// tagMoves turns full tag references into the tag names a record keeps.
func tagMoves(repository string, tags []string) []store.TagMove {
	out := make([]store.TagMove, 0, len(tags))
	for _, t := range tags {
		out = append(out, store.TagMove{Tag: strings.TrimPrefix(t, repository+":")})
	}
	return out
}

// workerName names the BuildKit daemon that ran a build in its record:
// "buildkitd v0.34.2 at tcp://buildkitd-0.buildkitd.ns.svc:1234", as much
// of it as is known.
func workerName(bk hallmark.BuildKitInfo) string {
	name := ""
	if bk.Version != "" {
		name = "buildkitd " + bk.Version
	}
	if bk.Address != "" {
		name = cmp.Or(name, "buildkitd") + " at " + bk.Address
	}
	return name
}
