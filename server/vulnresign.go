package server

import (
	"context"
	"fmt"
	"slices"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/version"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/vuln"
)

// maxResignPerRound bounds the scan attestations one re-scan signs; the
// rest wait for the next round (every 5s while any wait).
const maxResignPerRound = 32

// resigner signs fresh scan attestations for shipped images whose findings
// changed: an admission policy that reads `vulns` then sees what a re-scan
// found without a rebuild. It is WatchVulnerabilities', not safe for
// concurrent use.
type resigner struct {
	pending []store.ImageRef
	queued  map[store.ImageRef]bool
}

// newResigner returns the re-signer of s: nil without a vulnerability
// policy (builds are not scanned, so shipped images are not either) or an
// attester that signs predicates.
func newResigner(s *Server) *resigner {
	if _, ok := s.attester.(PredicateAttester); !ok || s.vulnPolicy == nil {
		return nil
	}
	return &resigner{queued: map[store.ImageRef]bool{}}
}

// add queues images, each once.
func (r *resigner) add(refs []store.ImageRef) {
	if r == nil {
		return
	}
	for _, ref := range refs {
		if !r.queued[ref] {
			r.queued[ref] = true
			r.pending = append(r.pending, ref)
		}
	}
}

// waiting reports whether images wait to be signed.
func (r *resigner) waiting() bool { return r != nil && len(r.pending) > 0 }

// round signs the scans of up to maxResignPerRound waiting images against
// db with the build policy as of now. A failure is logged and counted;
// the image is not retried until its findings change again.
func (w *vulnWatch) resignRound(ctx context.Context, db *vuln.DB) {
	r := w.resign
	if !r.waiting() {
		return
	}
	n := min(len(r.pending), maxResignPerRound)
	batch := slices.Clone(r.pending[:n])
	r.pending = slices.Delete(r.pending, 0, n)
	for _, ref := range batch {
		delete(r.queued, ref)
		if ctx.Err() != nil {
			return
		}
		start := time.Now()
		att, err := w.resignOne(ctx, db, ref)
		outcome := "signed"
		if err != nil {
			outcome = "failed"
			w.s.log.WarnContext(ctx, "scan of a shipped image not signed", "image", ref.Repository+"@"+ref.Digest.String(), "err", err)
		} else {
			w.s.log.InfoContext(ctx, "scan of a shipped image signed", "image", ref.Repository+"@"+ref.Digest.String(),
				"log_index", att.LogIndex, "ms", time.Since(start).Milliseconds())
		}
		w.s.metrics.scansResigned.WithLabelValues(outcome).Inc()
	}
}

// resignOne scans the recorded packages of one image and signs the
// predicate the way a build does (attestScan).
func (w *vulnWatch) resignOne(ctx context.Context, db *vuln.DB, ref store.ImageRef) (hallmark.Attestation, error) {
	purls, err := w.st.ImagePackages(ctx, ref.Repository, ref.Digest)
	if err != nil {
		return hallmark.Attestation{}, err
	}
	pkgs, unmapped := vulnPackages(purls)
	policy := *w.s.vulnPolicy
	start := time.Now()
	rep := db.Scan(pkgs)
	d := policy.Decide(rep, start)
	img := hallmark.BuildResult{Repository: ref.Repository, Digest: ref.Digest, Pinned: ref.Repository + "@" + ref.Digest.String()}
	err = w.s.attestScan(ctx, &img, func(string, ...any) {}, vuln.ScanInfo{
		ScannerVersion: version.Get().Version, Started: start, Finished: time.Now(),
		Packages: len(purls), Unmapped: unmapped, Policy: policy,
	}, db, rep, d)
	if err != nil {
		return hallmark.Attestation{}, err
	}
	if len(img.Attestations) == 0 {
		return hallmark.Attestation{}, fmt.Errorf("attest vulnerability scan of %s: the attester returned no attestation", img.Pinned)
	}
	return img.Attestations[0], nil
}
