package admission

import (
	"context"
	"errors"
	"fmt"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/verify"
)

// maxImages bounds the distinct images of one review that are verified: a
// review with more is denied unverified.
const maxImages = 64

// result is the outcome of verifying one image: a verdict, or the error
// that kept it from being evaluated.
type result struct {
	verdict *verify.Verdict
	err     error
}

// distinctImages lists the distinct image references of cs, in order of
// first use. Empty references are left out (the hygiene checks report
// them).
func distinctImages(cs []container) []string {
	seen := make(map[string]bool, len(cs))
	var images []string
	for _, c := range cs {
		if c.image == "" || seen[c.image] {
			continue
		}
		seen[c.image] = true
		images = append(images, c.image)
	}
	return images
}

// verifyImages verifies each image once, at most parallelism at a time,
// until ctx is done: an image not verified by then has ctx's error. It
// returns when every image has a result or ctx is done, whichever is
// first, even if the verifier ignores ctx.
func (w *Webhook) verifyImages(ctx context.Context, images []string) map[string]result {
	type done struct {
		image string
		result
	}
	results := make(map[string]result, len(images))
	ch := make(chan done, len(images)) // buffered: late workers never block
	sem := make(chan struct{}, w.opts.parallelism)
	for _, image := range images {
		go func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				ch <- done{image, result{err: ctx.Err()}}
				return
			}
			defer func() { <-sem }()
			v, err := w.verifier.Verify(ctx, image)
			if err == nil && v == nil {
				err = errors.New("verifier returned no verdict")
			}
			ch <- done{image, result{verdict: v, err: err}}
		}()
	}
	for len(results) < len(images) {
		select {
		case d := <-ch:
			results[d.image] = d.result
		case <-ctx.Done():
			for _, image := range images {
				if _, ok := results[image]; !ok {
					results[image] = result{err: ctx.Err()}
				}
			}
		}
	}
	return results
}

// couldNotVerify describes an image that could not be evaluated.
func (w *Webhook) couldNotVerify(ctx context.Context, image string, err error) string {
	reason := clipMiddle(err.Error(), 600)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		reason = fmt.Sprintf("timed out after %s", w.opts.timeout)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		reason = hallmark.ErrCanceled.Error()
	}
	return clip(fmt.Sprintf("could not verify image %q: %s", image, reason), maxViolation)
}

// denied describes an image whose verdict denies it: the failed rules (for
// an index, the index's and each failing platform's, naming the platform),
// or the verdict's reasons when no rule failed.
func (w *Webhook) denied(v *verify.Verdict, image string) string {
	var why []string
	for _, r := range v.Rules {
		if !r.Passed {
			why = append(why, ruleFailure("rule", r.Name, r.Message))
		}
	}
	for _, p := range v.Platforms {
		for _, r := range p.Rules {
			if !r.Passed {
				why = append(why, platformLabel(p)+ruleFailure("rule", r.Name, r.Message))
			}
		}
	}
	if len(why) == 0 {
		for _, r := range v.Reasons {
			why = append(why, clip(r, 300))
		}
	}
	if len(why) == 0 {
		why = append(why, "no reason given")
	}
	return w.imageViolation(v, image, why)
}

// imageViolation is `image "ref" (sha256:abcd…) denied by policy "p": why; why`.
func (w *Webhook) imageViolation(v *verify.Verdict, image string, why []string) string {
	policyName := v.Policy
	if policyName == "" {
		policyName = w.policy.Name()
	}
	digest := ""
	if v.Digest != "" {
		digest = " (" + shortDigest(v.Digest.String()) + ")"
	}
	s := fmt.Sprintf("image %q%s denied by policy %q: ", image, digest, policyName)
	for i, r := range why {
		if i > 0 {
			s += "; "
		}
		s += r
	}
	return clip(s, maxViolation)
}

// platformLabel is "platform linux/arm64 (sha256:abcd…): ", naming one
// platform manifest of an index in a violation.
func platformLabel(p verify.PlatformVerdict) string {
	name := p.Platform
	if name == "" {
		name = "without a platform"
	}
	return fmt.Sprintf("platform %s (%s): ", clip(name, 60), shortDigest(p.Digest.String()))
}

// ruleFailure is `rule "name": message`.
func ruleFailure(what, name, msg string) string {
	if msg == "" {
		msg = "failed"
	}
	return fmt.Sprintf("%s %q: %s", what, clip(name, 100), clip(msg, 300))
}
