package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// This file is the one place that reports a finished build, image or base
// image: the pinned reference on stdout and the --metadata-file.

// metadata is what --metadata-file holds: buildx's keys, then Hallmark's.
type metadata struct {
	BuildRef string `json:"buildx.build.ref"`
	imageMetadata
	Bases []baseMetadata `json:"hallmark.bases"`
	// Attestations are the signed statements published before the tags moved.
	Attestations []attestationMetadata `json:"hallmark.attestations"`
}

// baseBuildMetadata is what --metadata-file holds for a base build: buildx's
// keys, then Hallmark's.
type baseBuildMetadata struct {
	imageMetadata
	Packages     []packageMetadata     `json:"hallmark.packages"`
	Warnings     []string              `json:"hallmark.warnings,omitempty"`
	Attestations []attestationMetadata `json:"hallmark.attestations"`
}

// imageMetadata is what both metadata files say of the image built, in
// this order (their fields are inlined in JSON).
type imageMetadata struct {
	Digest    string `json:"containerimage.digest"`
	ImageName string `json:"image.name"`
	BuildID   string `json:"hallmark.build.id"`
	Pinned    string `json:"hallmark.image.pinned"`
}

type attestationMetadata struct {
	PredicateType  string `json:"predicateType"`
	Referrer       string `json:"referrer"`
	BundleDigest   string `json:"bundleDigest"`
	SignerIdentity string `json:"signerIdentity"`
	SignerIssuer   string `json:"signerIssuer"`
	LogIndex       int64  `json:"logIndex"`
	Timestamp      string `json:"timestamp,omitempty"`
}

type baseMetadata struct {
	Ref    string `json:"ref"`
	Pinned string `json:"pinned"`
	Digest string `json:"digest"`
}

type packageMetadata struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Architecture string `json:"architecture"`
	URI          string `json:"uri"`
	SHA256       string `json:"sha256"`
}

// report prints the pinned image to stdout and writes the files asked for.
func report(res *hallmarkv1.BuildResult, req *hallmarkv1.BuildRequest, f *buildFlags, stdout io.Writer) error {
	image := printPinned(stdout, res, req.GetTags())
	if f.metadataFile != "" {
		bases := []baseMetadata{}
		for _, b := range res.GetBases() {
			bases = append(bases, baseMetadata{Ref: b.GetRef(), Pinned: b.GetPinned(), Digest: b.GetDigest()})
		}
		err := writeMetadata(f.metadataFile, metadata{
			BuildRef:      res.GetBuildId(),
			imageMetadata: image,
			Bases:         bases,
			Attestations:  attestationsMetadata(res.GetAttestations()),
		})
		if err != nil {
			return err
		}
	}
	if f.iidFile != "" {
		if err := os.WriteFile(f.iidFile, []byte(res.GetDigest()), 0o644); err != nil {
			return fmt.Errorf("write iidfile: %w", err)
		}
	}
	return nil
}

// reportBase prints the pinned image to stdout and writes the metadata file.
func reportBase(res *hallmarkv1.BuildBaseResult, f *baseFlags, stdout io.Writer) error {
	b := res.GetBuild()
	image := printPinned(stdout, b, f.tags)
	if f.metadataFile == "" {
		return nil
	}
	m := baseBuildMetadata{imageMetadata: image, Packages: []packageMetadata{}, Warnings: b.GetWarnings(), Attestations: attestationsMetadata(b.GetAttestations())}
	for _, p := range res.GetPackages() {
		m.Packages = append(m.Packages, packageMetadata{Name: p.GetName(), Version: p.GetVersion(), Architecture: p.GetArchitecture(), URI: p.GetUri(), SHA256: p.GetSha256()})
	}
	return writeMetadata(f.metadataFile, m)
}

// printPinned prints the image pinned by digest, the one line a build
// writes to stdout, and returns what the metadata file says of the image;
// requested are the tags asked for.
func printPinned(stdout io.Writer, res *hallmarkv1.BuildResult, requested []string) imageMetadata {
	pinned := res.GetPinned()
	if pinned == "" {
		pinned = res.GetImageName() + "@" + res.GetDigest()
	}
	fmt.Fprintln(stdout, pinned)
	return imageMetadata{Digest: res.GetDigest(), ImageName: imageName(res, requested), BuildID: res.GetBuildId(), Pinned: pinned}
}

// imageName is buildx's image.name: the tags moved, else those asked for.
func imageName(res *hallmarkv1.BuildResult, requested []string) string {
	tags := res.GetTags()
	if len(tags) == 0 {
		tags = requested
	}
	return strings.Join(tags, ",")
}

func attestationsMetadata(as []*hallmarkv1.Attestation) []attestationMetadata {
	out := []attestationMetadata{}
	for _, a := range as {
		out = append(out, attestationMetadata{
			PredicateType: a.GetPredicateType(), Referrer: a.GetReferrerDigest(), BundleDigest: a.GetBundleDigest(),
			SignerIdentity: a.GetSignerIdentity(), SignerIssuer: a.GetSignerIssuer(), LogIndex: a.GetLogIndex(),
			Timestamp: utcTime(a.GetTimestamp()),
		})
	}
	return out
}

// utcTime is ts in UTC as RFC 3339, or "" for nil.
func utcTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}

// writeMetadata writes m as indented JSON to the --metadata-file path.
func writeMetadata(path string, m any) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write metadata file: %w", err)
	}
	return nil
}
