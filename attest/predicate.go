package attest

import (
	"context"
	"fmt"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/publish"
	"github.com/hallmark-dev/hallmark/internal/intoto"
)

// AttestPredicate signs one statement of predicateType about the image res
// names (for an image index, about the index: a vulnerability scan covers
// the packages of every platform) and publishes it as the image's
// referrer. predicate must be a JSON object.
func (a *Attester) AttestPredicate(ctx context.Context, res hallmark.BuildResult, predicateType string, predicate []byte, logf func(string, ...any)) ([]hallmark.Attestation, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	ref, err := a.digestRef(res.Repository, res.Digest)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	data, err := intoto.Statement(res.Repository, res.Digest, predicateType, predicate)
	if err != nil {
		return nil, err
	}
	all, err := a.signer.SignAll(ctx, [][]byte{data})
	if err != nil {
		return nil, err
	}
	signed := all[0]
	d, err := publish.Publish(ctx, ref, signed.Bundle, signed.PredicateType, a.opts.registry.RemoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("publish %s bundle: %w", signed.PredicateType, err)
	}
	att := signed.Attestation(d)
	att.Subject = res.Digest
	logf("signed %s as %s (log index %d), published %s (%s)", signed.PredicateType, signed.SignerIdentity, signed.LogIndex, d, time.Since(start).Round(time.Millisecond))
	a.opts.logger.InfoContext(ctx, "attested", "image", ref.String(), "predicateType", predicateType, "seconds", time.Since(start).Seconds())
	return []hallmark.Attestation{att}, nil
}
