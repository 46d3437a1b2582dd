package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/provenance"
	"github.com/hallmark-dev/hallmark/verify"
)

// newInspectCmd returns `hallmark inspect`.
func newInspectCmd() *cobra.Command { return newInspectCommand(processVerifyEnv) }

func newInspectCommand(envOf func(*cobra.Command) verifyEnv) *cobra.Command {
	f := &verifyFlags{}
	cmd := &cobra.Command{
		Use:   "inspect [flags] IMAGE",
		Short: "Show who built an image, from what, and what it contains, from its verified attestations",
		Long: `Resolve IMAGE to a digest once, find the Sigstore bundles attached to it
(OCI referrers), verify each against the trusted root and the signer identity,
and summarise what the verified ones say: who signed them, which builder built
the image for whom, from which source and base images, when, and what packages
it contains. Attestations that do not verify are listed with the reason and
never used for the summary.

The trusted root is --trusted-root, else $HALLMARK_TRUSTED_ROOT, else the
running dev stack's. The signer is --certificate-identity[-regexp] and
--certificate-oidc-issuer[-regexp], else $HALLMARK_SIGNER_IDENTITY and
$HALLMARK_SIGNER_ISSUER, else the dev stack's gateway. Regular expressions
must match the whole value.

A multi-platform image (an image index) is attested per platform: each
platform's manifest has its own SBOM and provenance, the index provenance only.
Without --platform, inspect shows the index's own attestations and lists its
platforms with their manifest digests; --platform os/arch[/variant] (e.g.
linux/arm64) shows that platform manifest's attestations instead, naming the
platform and the manifest's digest. For an image that is not an index,
--platform must be the platform its config names.

Exit status: 0 if a verified SLSA provenance exists, 1 if none does (the
reasons are printed), 2 if the image could not be evaluated (registry
unreachable, image missing, bad flags, a platform the image is not or the
index lacks).`,
	}
	f.register(cmd.Flags(), "text", "json")
	return imageCommand(cmd, envOf, func(ctx context.Context, image string, env verifyEnv) error {
		return runInspect(ctx, f, image, env)
	})
}

// runInspect verifies image and prints the report; it fails with
// notVerified when no provenance verified.
func runInspect(ctx context.Context, f *verifyFlags, image string, env verifyEnv) error {
	v, r, err := f.resolveImage(ctx, image, env)
	if err != nil {
		return err
	}
	res, err := v.Verify(ctx, r)
	if err != nil {
		return err
	}
	rep := newInspectReport(res)
	rep.setPlatforms(r)
	switch f.output {
	case "json":
		err = rep.writeJSON(env.stdout)
	default:
		err = rep.writeText(env.stdout)
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if !rep.Verified {
		return notVerified{whyNone(res, hallmark.PredicateSLSAProvenanceV1)}
	}
	return nil
}

// inspectReport is what `hallmark inspect` prints; --output json prints it
// as is.
type inspectReport struct {
	// Image is the reference as given, Digest what it resolved to, Pinned
	// the repository at that digest.
	Image  string `json:"image"`
	Digest string `json:"digest"`
	Pinned string `json:"pinned"`
	// Platform is the platform --platform selected, as the index or the
	// image config names it, and PlatformDigest the digest of its manifest
	// (Digest, for an image that is not an index): the attestations and
	// summaries below are that manifest's. Both are empty without
	// --platform.
	Platform       string `json:"platform,omitempty"`
	PlatformDigest string `json:"platformDigest,omitempty"`
	// Platforms are the platform manifests of an index, in index order;
	// nil for an image.
	Platforms []platformReport `json:"platforms,omitempty"`
	// Verified says that a verified SLSA provenance exists.
	Verified     bool                `json:"verified"`
	Attestations []attestationReport `json:"attestations"`
	// Superseded counts bundle referrers superseded by a newer verified
	// attestation of the same predicate type and signer (not listed).
	Superseded int `json:"superseded,omitempty"`
	// Omitted counts bundle referrers not considered (too many).
	Omitted    int               `json:"omitted,omitempty"`
	Provenance *provenanceReport `json:"provenance,omitempty"`
	SBOM       *sbomReport       `json:"sbom,omitempty"`
	// Notes say what could not be summarised.
	Notes []string `json:"notes,omitempty"`
}

// platformReport is one platform manifest of an index.
type platformReport struct {
	// Platform is "os/arch[/variant]"; empty if the index names none.
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
}

type attestationReport struct {
	PredicateType  string     `json:"predicateType"`
	Verified       bool       `json:"verified"`
	Failure        string     `json:"failure,omitempty"`
	SignerIdentity string     `json:"signerIdentity,omitempty"`
	SignerIssuer   string     `json:"signerIssuer,omitempty"`
	LogIndex       *int64     `json:"logIndex,omitempty"`
	Timestamp      *time.Time `json:"timestamp,omitempty"`
	Referrer       string     `json:"referrer"`
	BundleDigest   string     `json:"bundleDigest"`
}

type provenanceReport struct {
	BuildType    string               `json:"buildType"`
	BuilderID    string               `json:"builderId"`
	InvocationID string               `json:"invocationId"`
	Requester    provenance.Requester `json:"requester"`
	Source       provenance.Source    `json:"source"`
	Dockerfile   dockerfileReport     `json:"dockerfile"`
	BaseImages   []baseImageReport    `json:"baseImages"`
	BuildKit     provenance.BuildKit  `json:"buildkit"`
	Frontend     string               `json:"frontend"`
	Repository   string               `json:"repository"`
	Tags         []string             `json:"tags,omitempty"`
	StartedOn    time.Time            `json:"startedOn"`
	FinishedOn   time.Time            `json:"finishedOn"`
	// Attestation is the referrer the provenance was read from.
	Attestation string `json:"attestation"`
}

type dockerfileReport struct {
	Path   string `json:"path,omitempty"`
	Inline bool   `json:"inline,omitempty"`
	Digest string `json:"digest,omitempty"`
}

type baseImageReport struct {
	URI    string `json:"uri"`
	Digest string `json:"digest"`
}

// noSBOMNote is the note of a report without a verified SBOM.
const noSBOMNote = "no verified SBOM"

// newInspectReport summarises res from its verified attestations only.
func newInspectReport(res *verify.ImageResult) inspectReport {
	rep := inspectReport{Image: res.Ref, Digest: res.Digest.String(), Pinned: res.Pinned, Superseded: len(res.Superseded), Omitted: res.Omitted, Attestations: []attestationReport{}}
	for _, a := range res.Attestations {
		ar := attestationReport{
			PredicateType: a.PredicateType, Verified: a.Verified, Failure: a.Failure,
			Referrer: a.Referrer.Digest.String(), BundleDigest: a.Referrer.BundleDigest.String(),
		}
		if a.Verified {
			ar.SignerIdentity, ar.SignerIssuer = a.SignerIdentity, a.SignerIssuer
			if a.LogIndex >= 0 {
				ar.LogIndex = &a.LogIndex
			}
			if !a.Timestamp.IsZero() {
				ts := a.Timestamp.UTC()
				ar.Timestamp = &ts
			}
		}
		rep.Attestations = append(rep.Attestations, ar)
	}

	provs := res.Verified(hallmark.PredicateSLSAProvenanceV1)
	rep.Verified = len(provs) > 0
	for i := len(provs) - 1; i >= 0 && rep.Provenance == nil; i-- { // newest first
		p, err := provenance.Parse(provs[i].Statement.Predicate)
		if err != nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("provenance %s is not summarised: %v", provs[i].Referrer.Digest, err))
			continue
		}
		rep.Provenance = newProvenanceReport(p, provs[i].Referrer.Digest)
	}
	sboms := res.Verified(hallmark.PredicateSPDX)
	for i := len(sboms) - 1; i >= 0 && rep.SBOM == nil; i-- {
		doc, err := readSPDX(sboms[i].Statement.Predicate)
		if err != nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("SBOM %s is not summarised: %v", sboms[i].Referrer.Digest, err))
			continue
		}
		s := doc.summary(sboms[i].Referrer.Digest)
		rep.SBOM = &s
	}
	if len(sboms) == 0 {
		rep.Notes = append(rep.Notes, noSBOMNote)
	}
	return rep
}

// setPlatforms completes the report of res, the attestations of the
// manifest r selected: Digest and Pinned are what the reference resolved
// to, and an index lists its platforms.
func (rep *inspectReport) setPlatforms(r *verify.Resolved) {
	rep.Digest, rep.Pinned = r.Digest.String(), r.Pinned
	if r.Platform != "" {
		rep.Platform, rep.PlatformDigest = r.Platform, r.Selected.Digest.String()
	}
	if !r.IsIndex() {
		return
	}
	rep.Platforms = make([]platformReport, len(r.Platforms))
	for i, p := range r.Platforms {
		rep.Platforms[i] = platformReport{Platform: p.Platform, Digest: p.Digest.String()}
	}
	if r.Platform == "" {
		for i, n := range rep.Notes {
			if n == noSBOMNote {
				rep.Notes[i] = "an index has no SBOM of its own: each platform has one (choose one with --platform)"
			}
		}
	}
}

func newProvenanceReport(p *provenance.Provenance, referrer hallmark.Digest) *provenanceReport {
	ext, in := p.BuildDefinition.ExternalParameters, p.BuildDefinition.InternalParameters
	r := &provenanceReport{
		BuildType:    p.BuildDefinition.BuildType,
		BuilderID:    p.RunDetails.Builder.ID,
		InvocationID: p.RunDetails.Metadata.InvocationID,
		Requester:    ext.Requester,
		Source:       ext.Source,
		Dockerfile:   dockerfileReport{Path: ext.Dockerfile.Path, Inline: ext.Dockerfile.Inline, Digest: ext.Dockerfile.Digest.String()},
		BaseImages:   []baseImageReport{},
		BuildKit:     in.BuildKit,
		Frontend:     in.Frontend,
		Repository:   ext.Repository,
		Tags:         ext.Tags,
		StartedOn:    p.RunDetails.Metadata.StartedOn.UTC(),
		FinishedOn:   p.RunDetails.Metadata.FinishedOn.UTC(),
		Attestation:  referrer.String(),
	}
	for _, d := range p.BuildDefinition.ResolvedDependencies {
		switch d.Name {
		case "":
			r.BaseImages = append(r.BaseImages, baseImageReport{URI: d.URI, Digest: sha256Of(d.Digest)})
		case provenance.DependencyDockerfile:
			if r.Dockerfile.Digest == "" {
				r.Dockerfile.Digest = sha256Of(d.Digest)
			}
		}
	}
	return r
}

// sha256Of returns a resource descriptor's sha256 in OCI form, or "".
func sha256Of(d map[string]string) string {
	if h, ok := d["sha256"]; ok {
		return "sha256:" + h
	}
	return ""
}

func (r inspectReport) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// writeText prints the report for people. Every value passes through
// oneLine: even verified statements are data, not terminal commands.
func (r inspectReport) writeText(w io.Writer) error {
	p := &textPrinter{w: w}
	p.line(0, "image", r.Image)
	p.line(0, "digest", r.Digest)
	if r.Pinned != r.Image {
		p.line(0, "pinned", r.Pinned)
	}
	if r.Platform != "" {
		p.line(0, "platform", r.Platform)
		p.line(0, "manifest", r.PlatformDigest)
	}

	verified := 0
	for _, a := range r.Attestations {
		if a.Verified {
			verified++
		}
	}
	p.heading(fmt.Sprintf("Attestations: %d, %d verified", len(r.Attestations), verified))
	if len(r.Attestations) == 0 {
		p.line(1, "none", "the image has no Sigstore bundle referrers")
	}
	for _, a := range r.Attestations {
		if !a.Verified {
			pt := a.PredicateType + " (unsigned annotation)"
			if a.PredicateType == "" {
				pt = "(no predicate type annotation)"
			}
			p.line(1, "NOT VERIFIED", pt)
			p.line(2, "referrer", a.Referrer)
			p.line(2, "reason", a.Failure)
			continue
		}
		p.line(1, "verified", a.PredicateType)
		p.line(2, "signer", a.SignerIdentity)
		p.line(2, "issuer", a.SignerIssuer)
		if a.LogIndex != nil {
			p.line(2, "log index", fmt.Sprint(*a.LogIndex))
		}
		if a.Timestamp != nil {
			p.line(2, "signed at", a.Timestamp.Format(time.RFC3339))
		}
		p.line(2, "referrer", a.Referrer)
	}
	if r.Superseded > 0 {
		p.line(1, "superseded", fmt.Sprintf("%d older attestations of the same types and signers are not shown", r.Superseded))
	}
	if r.Omitted > 0 {
		p.line(1, "omitted", fmt.Sprintf("%d more bundle referrers were not considered", r.Omitted))
	}

	if v := r.Provenance; v != nil {
		p.heading("Provenance")
		p.line(1, "builder", v.BuilderID)
		p.line(1, "build type", v.BuildType)
		p.line(1, "invocation", v.InvocationID)
		p.line(1, "requester", v.Requester.Subject)
		p.line(2, "issuer", v.Requester.Issuer)
		for _, k := range slices.Sorted(maps.Keys(v.Requester.Claims)) {
			p.line(2, "claim", k+"="+v.Requester.Claims[k])
		}
		switch s := v.Source; {
		case s.Context != nil:
			p.line(1, "source", "uploaded context "+s.Context.Digest.String())
		case s.Git != nil:
			src := s.Git.URL + "@" + s.Git.Commit
			if s.Git.Subdir != "" {
				src += " (subdir " + s.Git.Subdir + ")"
			}
			p.line(1, "source", "git "+src)
		}
		df := v.Dockerfile.Path
		if v.Dockerfile.Inline {
			df = "inline"
		}
		if v.Dockerfile.Digest != "" {
			df += " " + v.Dockerfile.Digest
		}
		p.line(1, "dockerfile", df)
		if len(v.BaseImages) == 0 {
			p.line(1, "base images", "none (FROM scratch)")
		}
		for i, b := range v.BaseImages {
			label := ""
			if i == 0 {
				label = "base images"
			}
			p.line(1, label, b.URI+" "+b.Digest)
		}
		bk := v.BuildKit.Version
		if v.BuildKit.Revision != "" {
			bk += " (" + v.BuildKit.Revision + ")"
		}
		p.line(1, "buildkit", bk)
		p.line(1, "frontend", v.Frontend)
		p.line(1, "repository", v.Repository)
		if len(v.Tags) > 0 {
			p.line(1, "tags", strings.Join(v.Tags, ", "))
		}
		p.line(1, "started", v.StartedOn.Format(time.RFC3339))
		p.line(1, "finished", fmt.Sprintf("%s (%s)", v.FinishedOn.Format(time.RFC3339), v.FinishedOn.Sub(v.StartedOn).Round(time.Second)))
	}

	if s := r.SBOM; s != nil {
		p.heading("SBOM")
		p.line(1, "document", s.SPDXVersion+" "+s.Name)
		p.line(1, "packages", s.countsText())
	}
	if len(r.Platforms) > 0 {
		p.heading(fmt.Sprintf("Platforms: %d (show one with --platform)", len(r.Platforms)))
		for _, pl := range r.Platforms {
			name := pl.Platform
			if name == "" {
				name = "(none named)"
			}
			p.line(1, name, pl.Digest)
		}
	}
	if len(r.Notes) > 0 {
		p.heading("Notes")
		for _, n := range r.Notes {
			p.printf("  - %s\n", oneLine(n))
		}
	}
	return p.err
}

// textPrinter writes "label  value" lines, remembering the first error.
type textPrinter struct {
	w   io.Writer
	err error
}

func (p *textPrinter) heading(s string) {
	p.printf("\n%s\n", s)
}

func (p *textPrinter) line(indent int, label, value string) {
	p.printf("%s%-*s %s\n", strings.Repeat("  ", indent), 16-2*indent, oneLine(label), oneLine(value))
}

func (p *textPrinter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}
