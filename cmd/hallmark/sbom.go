package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	packageurl "github.com/package-url/packageurl-go"
	"github.com/spf13/cobra"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/sbom"
	"github.com/hallmark-dev/hallmark/verify"
)

// newSBOMCmd returns `hallmark sbom`.
func newSBOMCmd() *cobra.Command { return newSBOMCommand(processVerifyEnv) }

func newSBOMCommand(envOf func(*cobra.Command) verifyEnv) *cobra.Command {
	f := &verifyFlags{}
	var format string
	vf := &sbomVulnFlags{}
	cmd := &cobra.Command{
		Use:   "sbom [flags] IMAGE",
		Short: "Print the verified SBOM of an image, as signed (SPDX) or as CycloneDX",
		Long: `Resolve IMAGE to a digest once, verify the Sigstore bundles attached to it
(as hallmark inspect does) and print the newest verified SPDX document
(predicate https://spdx.dev/Document) to stdout.

--output json (the default) prints the document exactly as it was signed, the
bytes of the statement's predicate followed by a newline: compact JSON as
Hallmark writes it (pipe it through jq for indentation). --output text prints
a table of the packages: name, version, type and package URL.

A multi-platform image (an image index) has one SBOM per platform, attached
to that platform's manifest, and none of its own: --platform os/arch[/variant]
(e.g. linux/arm64) selects the platform, and a note on stderr names it and its
manifest's digest. Without --platform, an index is an error that lists its
platforms. For an image that is not an index, --platform must be the platform
its config names.

--vulnerabilities (with --format cyclonedx) adds the findings the gateway
recorded for the image (QueryService.ListFindings, as hallmark vulns shows
them) as the BOM's vulnerabilities, each affecting the components with its
package URL; the gateway is --gateway, else $HALLMARK_GATEWAY, else the dev
stack, the token --token-file, else $HALLMARK_TOKEN. Without it the BOM says
nothing about vulnerabilities. A gateway that has no advisories loaded, or
has not scanned yet, is an error: an empty list would claim a clean image.

Trust settings and exit status are those of hallmark inspect: 0 if a verified
SBOM was printed, 1 if none verified, 2 if the image could not be evaluated
(registry unreachable, image missing, bad flags, an index without --platform,
a platform the image is not).`,
	}
	f.register(cmd.Flags(), "json", "text")
	cmd.Flags().StringVar(&format, "format", formatSPDX, "SBOM format of --output json: "+formatSPDX+" (the signed document) or "+formatCycloneDX+" (converted to CycloneDX 1.6)")
	vf.register(cmd.Flags())
	return imageCommand(cmd, envOf, func(ctx context.Context, image string, env verifyEnv) error {
		return runSBOM(ctx, f, vf, format, image, env)
	})
}

// The --format values of hallmark sbom.
const (
	formatSPDX      = "spdx"
	formatCycloneDX = "cyclonedx"
)

func runSBOM(ctx context.Context, f *verifyFlags, vf *sbomVulnFlags, format, image string, env verifyEnv) error {
	switch {
	case vf.enabled && format != formatCycloneDX:
		return usageError("--vulnerabilities adds findings to a CycloneDX BOM: use it with --format " + formatCycloneDX)
	case format != formatSPDX && format != formatCycloneDX:
		return usageError(fmt.Sprintf("parse --format: unknown format %q, want %s or %s", format, formatSPDX, formatCycloneDX))
	case format == formatCycloneDX && f.output != "json":
		return usageError("--format " + formatCycloneDX + " prints JSON: use it with --output json (the default)")
	}
	v, r, err := f.resolveImage(ctx, image, env)
	if err != nil {
		return err
	}
	if r.IsIndex() && r.Platform == "" {
		return usageError(fmt.Sprintf("%s is a multi-platform image (an index) of %s, with one SBOM per platform: choose one with --platform%s",
			r.Pinned, oneLine(r.PlatformList()), platformExample(r)))
	}
	res, err := v.Verify(ctx, r)
	if err != nil {
		return err
	}
	if r.Platform != "" {
		fmt.Fprintf(env.stderr, "hallmark sbom: the SBOM of the %s image %s\n", oneLine(r.Platform), r.Selected.Pinned)
	}
	sboms := res.Verified(hallmark.PredicateSPDX)
	if len(sboms) == 0 {
		return notVerified{whyNone(res, hallmark.PredicateSPDX)}
	}
	newest := sboms[len(sboms)-1]
	if format == formatCycloneDX {
		var opts []sbom.CycloneDXOption
		if vf.enabled {
			findings, err := vf.findings(ctx, r.Pinned, newest, env)
			if err != nil {
				return err
			}
			opts = append(opts, sbom.WithFindings(findings))
		}
		return writeCycloneDX(env.stdout, newest, opts...)
	}
	if f.output == "json" {
		if _, err := fmt.Fprintf(env.stdout, "%s\n", newest.Statement.Predicate); err != nil {
			return fmt.Errorf("write sbom: %w", err)
		}
		return nil
	}
	doc, err := readSPDX(newest.Statement.Predicate)
	if err != nil {
		return fmt.Errorf("read verified sbom %s: %w", newest.Referrer.Digest, err)
	}
	if err := doc.writeTable(env.stdout); err != nil {
		return fmt.Errorf("write sbom: %w", err)
	}
	return nil
}

// platformExample is " (e.g. --platform P)" for the first platform the
// index r names, or "".
func platformExample(r *verify.Resolved) string {
	for _, p := range r.Platforms {
		if p.Platform != "" {
			return " (e.g. --platform " + oneLine(p.Platform) + ")"
		}
	}
	return ""
}

// spdxDocument is the part of an SPDX 2.x JSON document the CLI shows. It
// reads any SPDX JSON, Hallmark's or another tool's.
type spdxDocument struct {
	SPDXVersion       string        `json:"spdxVersion"`
	Name              string        `json:"name"`
	DocumentDescribes []string      `json:"documentDescribes"`
	Packages          []spdxPackage `json:"packages"`
	Relationships     []struct {
		Element string `json:"spdxElementId"`
		Type    string `json:"relationshipType"`
		Related string `json:"relatedSpdxElement"`
	} `json:"relationships"`
}

type spdxPackage struct {
	SPDXID       string `json:"SPDXID"`
	Name         string `json:"name"`
	VersionInfo  string `json:"versionInfo"`
	ExternalRefs []struct {
		Type    string `json:"referenceType"`
		Locator string `json:"referenceLocator"`
	} `json:"externalRefs"`
}

// readSPDX reads a verified SPDX JSON predicate.
func readSPDX(predicate []byte) (*spdxDocument, error) {
	var doc spdxDocument
	if err := json.Unmarshal(predicate, &doc); err != nil {
		return nil, fmt.Errorf("parse SPDX document: %w", err)
	}
	if !strings.HasPrefix(doc.SPDXVersion, "SPDX-2.") {
		return nil, fmt.Errorf("parse SPDX document: version %q is not SPDX 2", doc.SPDXVersion)
	}
	return &doc, nil
}

// sbomPackage is a package of the document other than what it describes
// (the image itself).
type sbomPackage struct {
	Name, Version, Type, PURL string
}

// packages returns the document's packages, sorted by type, name and
// version, without the packages the document DESCRIBES.
func (d *spdxDocument) packages() []sbomPackage {
	described := map[string]bool{}
	for _, id := range d.DocumentDescribes {
		described[id] = true
	}
	for _, r := range d.Relationships {
		if r.Element == "SPDXRef-DOCUMENT" && r.Type == "DESCRIBES" {
			described[r.Related] = true
		}
	}
	var out []sbomPackage
	for _, p := range d.Packages {
		if described[p.SPDXID] {
			continue
		}
		sp := sbomPackage{Name: p.Name, Version: p.VersionInfo, Type: "unknown"}
		for _, r := range p.ExternalRefs {
			if r.Type != "purl" {
				continue
			}
			sp.PURL = r.Locator
			if u, err := packageurl.FromString(r.Locator); err == nil {
				sp.Type = u.Type
			}
			break
		}
		out = append(out, sp)
	}
	slices.SortFunc(out, func(a, b sbomPackage) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version), cmp.Compare(a.PURL, b.PURL))
	})
	return out
}

// sbomReport summarises an SBOM for `hallmark inspect`.
type sbomReport struct {
	SPDXVersion string `json:"spdxVersion"`
	Name        string `json:"name"`
	// Packages counts every package but the image itself.
	Packages int `json:"packages"`
	// ByType counts packages by package URL type (deb, apk, rpm, golang…).
	ByType map[string]int `json:"byType"`
	// Attestation is the referrer the SBOM was read from.
	Attestation string `json:"attestation"`
}

func (d *spdxDocument) summary(referrer hallmark.Digest) sbomReport {
	s := sbomReport{SPDXVersion: d.SPDXVersion, Name: d.Name, ByType: map[string]int{}, Attestation: referrer.String()}
	for _, p := range d.packages() {
		s.Packages++
		s.ByType[p.Type]++
	}
	return s
}

// countsText is "N: a deb, b golang", types by count, then name.
func (s sbomReport) countsText() string {
	types := slices.SortedFunc(maps.Keys(s.ByType), func(a, b string) int {
		return cmp.Or(cmp.Compare(s.ByType[b], s.ByType[a]), cmp.Compare(a, b))
	})
	var parts []string
	for _, t := range types {
		parts = append(parts, strconv.Itoa(s.ByType[t])+" "+t)
	}
	if len(parts) == 0 {
		return "0"
	}
	return strconv.Itoa(s.Packages) + ": " + strings.Join(parts, ", ")
}

func (d *spdxDocument) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tTYPE\tPURL")
	for _, p := range d.packages() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", oneLine(p.Name), oneLine(p.Version), oneLine(p.Type), oneLine(p.PURL))
	}
	return tw.Flush()
}
