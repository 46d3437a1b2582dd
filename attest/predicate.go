package attest

import (
	"context"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
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
	atts, _, err := a.signAndPublish(ctx, []statement{{subject: subject{ref: ref, digest: res.Digest}, predicateType: predicateType, data: data}}, logf)
	if err != nil {
		return nil, err
	}
	a.opts.logger.InfoContext(ctx, "attested", "image", ref.String(), "predicateType", predicateType, "seconds", time.Since(start).Seconds())
	return atts, nil
}
