package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// PlatformVerdict is the verdict for one platform manifest of an image
// index: the policy evaluated on that manifest's own attestations and
// image config, as for an image that is not in an index.
type PlatformVerdict struct {
	// Platform is "os/arch[/variant]" as the index names it (empty if it
	// names none); Digest the platform manifest's digest; Pinned
	// "registry/repository@sha256:<hex>" of it.
	Platform string
	Digest   hallmark.Digest
	Pinned   string
	// Allowed is true when every rule passed on this manifest.
	Allowed bool
	// Attestations are the manifest's bundle referrers evaluated, verified
	// or not; Superseded those superseded (ImageResult.Superseded).
	Attestations []Attestation
	Superseded   []Attestation
	// Rules are the policy's rule outcomes on this manifest (built-ins
	// first); Reasons one line per failed rule.
	Rules   []policy.RuleResult
	Reasons []string
	// Input is what the rules saw: this manifest's attestations and image.
	Input policy.Input
}

// checked is one manifest's verified attestations and what rules see of it.
type checked struct {
	res   *ImageResult
	input policy.Input
	// index is the index, when the manifest is one.
	index v1.ImageIndex
}

// rules evaluates bp's policy on an image manifest.
func (c *checked) rules(ctx context.Context, bp *boundPolicy) []policy.RuleResult {
	return append([]policy.RuleResult{signersRule(c.res)}, bp.p.Evaluate(ctx, c.input)...)
}

// checkManifest verifies the bundles attached to subject and reads its
// manifest and config, at once; ref is the reference the caller gave. The
// config is left unread when the Evaluator reads configs only for rules
// (WithConfigOnlyForRules), no rule of bp reads the image and forPlatform
// (a platform asked of an image) is false.
func (e *Evaluator) checkManifest(ctx context.Context, bp *boundPolicy, ref string, subject name.Digest, digest hallmark.Digest, forPlatform bool) (*checked, error) {
	var (
		c     checked
		image policy.Image
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		c.res, err = bp.v.verifyDigest(gctx, subject.String(), subject, digest, true)
		return err
	})
	g.Go(func() error {
		var err error
		lim := imageLimits{manifest: bp.v.opts.maxManifestSize, config: e.o.maxConfigSize,
			noConfig: e.o.configForRules && !bp.p.RulesReadImage() && !forPlatform}
		image, c.index, err = describeImage(gctx, subject, lim,
			bp.v.opts.registry.RemoteOptions(gctx))
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	c.input = inputOf(c.res, image, e.o.now())
	c.input.Image.Ref = ref // before the rules run: they may read image.ref
	return &c, nil
}

// evaluateIndex completes v for an image index:
//
//   - the index must carry at least one attestation verified against the
//     policy's signers, and the provenance the policy requires
//     (policy.EvaluateIndex): v.Rules;
//   - every platform manifest req.Platform selects (all of them for "")
//     must pass the whole policy on its own attestations and image config:
//     v.Platforms. A platform the index does not have denies.
//
// v.Reasons name the index or the platform of each failed rule. When one
// platform is selected, v.Input is that platform's, so image.* is what
// runs there.
func (e *Evaluator) evaluateIndex(ctx context.Context, bp *boundPolicy, req Request, subject name.Digest, idx *checked, v *Verdict) error {
	im, err := idx.index.IndexManifest()
	if err != nil {
		return fmt.Errorf("read %s: %w", subject, registry.Error(ctx, err))
	}
	pms, err := registry.PlatformManifests(im)
	if err != nil {
		return fmt.Errorf("read %s: %w", subject, err)
	}
	var selected []registry.PlatformManifest
	for _, pm := range pms {
		if req.Platform == "" {
			selected = append(selected, pm)
		} else if ok, err := registry.MatchPlatform(pm.Descriptor.Platform, req.Platform); err != nil {
			return err
		} else if ok {
			selected = append(selected, pm)
		}
	}
	v.Rules = append([]policy.RuleResult{signersRule(idx.res)}, bp.p.EvaluateIndex(idx.input)...)
	if len(selected) == 0 {
		v.Rules = append(v.Rules, policy.RuleResult{Name: "platform",
			Message: fmt.Sprintf("the index has no %s image; it has %s", req.Platform, platformList(pms))})
	}
	v.Allowed, v.Reasons = outcome(v.Rules)
	for i := range v.Reasons {
		v.Reasons[i] = "index: " + v.Reasons[i]
	}

	v.Platforms = make([]PlatformVerdict, len(selected))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelism)
	for i, pm := range selected {
		g.Go(func() error {
			d, err := hallmark.ParseDigest(pm.Descriptor.Digest.String())
			if err != nil {
				return fmt.Errorf("read %s: %w", subject, err)
			}
			ps := subject.Context().Digest(d.String())
			if lim := bp.v.opts.maxManifestSize; pm.Descriptor.Size > lim {
				return &LimitError{What: "image manifest", Of: ps.String(), Size: pm.Descriptor.Size, Limit: lim, Setting: SettingMaxManifestBytes}
			}
			c, err := e.checkManifest(gctx, bp, req.Ref, ps, d, false)
			if err != nil {
				return err
			}
			if c.input.Vulns == nil {
				// The scan of a multi-platform image is about the index
				// (it covers every platform's packages).
				c.input.Vulns = idx.input.Vulns
			}
			pv := PlatformVerdict{Platform: pm.Platform, Digest: d, Pinned: ps.String(),
				Attestations: c.res.Attestations, Superseded: c.res.Superseded, Input: c.input, Rules: c.rules(gctx, bp)}
			pv.Allowed, pv.Reasons = outcome(pv.Rules)
			v.Platforms[i] = pv
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, pv := range v.Platforms {
		v.Allowed = v.Allowed && pv.Allowed
		for _, r := range pv.Reasons {
			v.Reasons = append(v.Reasons, platformName(pv)+": "+r)
		}
	}
	if len(v.Platforms) == 1 && req.Platform != "" {
		v.Input = v.Platforms[0].Input
	}
	return nil
}

// platformName names a platform manifest in reasons: its platform, else
// its digest.
func platformName(pv PlatformVerdict) string {
	if pv.Platform != "" {
		return pv.Platform
	}
	return pv.Digest.String()
}

// platformList lists an index's platforms for a message.
func platformList(pms []registry.PlatformManifest) string {
	var ps []string
	for _, pm := range pms {
		if pm.Platform != "" && !slices.Contains(ps, pm.Platform) {
			ps = append(ps, pm.Platform)
		}
	}
	if len(ps) == 0 {
		return "none named"
	}
	return strings.Join(ps, ", ")
}

// platformRule checks, when want names a platform, that an image that is
// not in an index is for that platform, by its config; an image whose
// config names no platform fails (it cannot be shown to be want).
func platformRule(config map[string]any, want string) []policy.RuleResult {
	if want == "" {
		return nil
	}
	r := policy.RuleResult{Name: "platform"}
	p := &v1.Platform{}
	p.OS, _ = config["os"].(string)
	p.Architecture, _ = config["architecture"].(string)
	p.Variant, _ = config["variant"].(string)
	if p.OS == "" || p.Architecture == "" {
		r.Message = fmt.Sprintf("the image config names no platform, so the image cannot be shown to be %s", want)
		return []policy.RuleResult{r}
	}
	ok, err := registry.MatchPlatform(p, want)
	switch {
	case err != nil:
		r.Message = err.Error()
	case ok:
		r.Passed = true
	default:
		r.Message = fmt.Sprintf("the image is %s, not %s", hallmark.Clip(p.String(), 80), want)
	}
	return []policy.RuleResult{r}
}
