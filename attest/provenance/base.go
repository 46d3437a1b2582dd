package provenance

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/intoto"
)

// BaseBuildType is the buildDefinition.buildType of base images Hallmark
// assembles from Debian packages (`hallmark base build`): a BaseImage spec,
// resolved with apt from scratch, every .deb checked against the signed
// package index and unpacked into one layer. docs/provenance.md describes
// its parameters.
const BaseBuildType = "https://hallmark.dev/buildtypes/debian-base/v1"

// BaseBuild is what BasePredicate describes: one base image, assembled and
// pushed by digest, before attestation and tagging.
type BaseBuild struct {
	// Request is the validated request, with the caller's verified identity.
	Request hallmark.BaseRequest
	// Result is the builder's result; Build.Started and Build.Solved become
	// startedOn and finishedOn.
	Result hallmark.BaseResult
	// BuilderID is runDetails.builder.id (see Build). Required.
	BuilderID string
	// HallmarkVersion is the gateway's version. Optional.
	HallmarkVersion string
}

// BaseProvenance is the SLSA Provenance v1 predicate of BaseBuildType.
type BaseProvenance struct {
	BuildDefinition BaseBuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails          `json:"runDetails"`
}

// BaseBuildDefinition is a base image's buildDefinition. Every resolved
// dependency is a .deb: name "<package>=<version>", uri its mirror URL,
// digest its sha256.
type BaseBuildDefinition struct {
	// BuildType is always BaseBuildType.
	BuildType            string                 `json:"buildType"`
	ExternalParameters   BaseExternalParameters `json:"externalParameters"`
	InternalParameters   BaseInternalParameters `json:"internalParameters"`
	ResolvedDependencies []ResourceDescriptor   `json:"resolvedDependencies"`
}

// BaseExternalParameters are the caller's inputs.
type BaseExternalParameters struct {
	// Spec is the BaseImage spec as parsed, in JSON.
	Spec json.RawMessage `json:"spec"`
	// SpecDigest is the sha256 of the spec as sent (YAML).
	SpecDigest hallmark.Digest `json:"specDigest"`
	Repository string          `json:"repository"`
	Tags       []string        `json:"tags"`
	Requester  Requester       `json:"requester"`
}

// BaseInternalParameters are the gateway's inputs.
type BaseInternalParameters struct {
	// Architecture is the Debian architecture, e.g. "amd64".
	Architecture string `json:"architecture"`
	// Sources are the apt sources the packages were resolved from, e.g.
	// "http://deb.debian.org/debian bookworm/main amd64".
	Sources []string `json:"sources"`
	// Resolver says how the packages were chosen: ResolverAptFromScratch.
	Resolver string `json:"resolver"`
	// Warnings say what the assembly overrode.
	Warnings []string `json:"warnings,omitempty"`
}

// ResolverAptFromScratch is the only resolver: apt-get with an empty dpkg
// status, Pre-Depends and Depends only (no Recommends or Suggests).
const ResolverAptFromScratch = "apt-get: empty dpkg status, no recommends"

// BasePredicate returns the SLSA Provenance v1 predicate of b as compact,
// deterministic JSON. It fails if b is incomplete or inconsistent.
func BasePredicate(b BaseBuild) ([]byte, error) {
	p, err := baseBuild(b)
	if err != nil {
		return nil, fmt.Errorf("write base provenance: %w", err)
	}
	out, err := intoto.Encode(p)
	if err != nil {
		return nil, fmt.Errorf("write base provenance: %w", err)
	}
	return out, nil
}

// ParseBase reads a predicate of BaseBuildType, strictly: unknown fields
// are errors.
func ParseBase(predicate []byte) (*BaseProvenance, error) {
	var p BaseProvenance
	if err := parseStrict(predicate, &p, func() string { return p.BuildDefinition.BuildType }, BaseBuildType); err != nil {
		return nil, fmt.Errorf("parse base provenance: %w", err)
	}
	return &p, nil
}

func baseBuild(b BaseBuild) (*BaseProvenance, error) {
	req, res := b.Request, b.Result
	if err := checkURI(b.BuilderID); err != nil {
		return nil, fmt.Errorf("builder id: %w", err)
	}
	id := res.Build.ID
	switch {
	case id == "":
		return nil, fmt.Errorf("build id is empty")
	case req.ID != "" && req.ID != id:
		return nil, fmt.Errorf("request id %q and result id %q differ", req.ID, id)
	case res.Build.Started.IsZero() || res.Build.Solved.IsZero():
		return nil, fmt.Errorf("build %s has no start or solve time", id)
	case res.Build.Solved.Before(res.Build.Started):
		return nil, fmt.Errorf("build %s was solved before it started", id)
	case len(res.Packages) == 0:
		return nil, fmt.Errorf("build %s installed no packages", id)
	case res.Architecture == "":
		return nil, fmt.Errorf("build %s has no architecture", id)
	}
	var spec map[string]any
	if err := json.Unmarshal(res.Spec, &spec); err != nil || spec == nil {
		return nil, fmt.Errorf("spec is not a JSON object")
	}
	if _, err := hallmark.ParseDigest(string(res.SpecDigest)); err != nil {
		return nil, fmt.Errorf("spec digest: %w", err)
	}
	if len(req.Spec) > 0 && hallmark.SHA256(req.Spec) != res.SpecDigest {
		return nil, fmt.Errorf("spec digest %s is not the digest of the request's spec", res.SpecDigest)
	}
	deps := make([]ResourceDescriptor, 0, len(res.Packages))
	for _, p := range res.Packages {
		d, err := hallmark.ParseDigest(string(p.SHA256))
		if err != nil {
			return nil, fmt.Errorf("package %s: %w", hallmark.Clip(p.Name, 80), err)
		}
		if u, err := url.Parse(p.URI); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
			return nil, fmt.Errorf("package %s: uri %q is not an http(s) URL", hallmark.Clip(p.Name, 80), hallmark.Clip(p.URI, 80))
		}
		if p.Name == "" || p.Version == "" {
			return nil, fmt.Errorf("package %q has no name or version", hallmark.Clip(p.Name, 80))
		}
		deps = append(deps, ResourceDescriptor{Name: p.Name + "=" + p.Version, URI: p.URI, Digest: map[string]string{"sha256": d.Hex()}})
	}
	slices.SortFunc(deps, func(a, b ResourceDescriptor) int { return strings.Compare(a.Name, b.Name) })
	tags := req.Tags
	if tags == nil {
		tags = []string{}
	}
	sources := res.Sources
	if sources == nil {
		sources = []string{}
	}
	version := map[string]string{}
	if b.HallmarkVersion != "" {
		version["hallmark"] = b.HallmarkVersion
	}
	return &BaseProvenance{
		BuildDefinition: BaseBuildDefinition{
			BuildType: BaseBuildType,
			ExternalParameters: BaseExternalParameters{
				Spec: res.Spec, SpecDigest: res.SpecDigest, Repository: req.Repository, Tags: tags, Requester: RequesterOf(req.Requester),
			},
			InternalParameters: BaseInternalParameters{
				Architecture: res.Architecture, Sources: sources, Resolver: ResolverAptFromScratch, Warnings: nonEmpty(res.Build.Warnings),
			},
			ResolvedDependencies: deps,
		},
		RunDetails: RunDetails{
			Builder: Builder{ID: b.BuilderID, Version: nonEmptyMap(version)},
			Metadata: Metadata{
				InvocationID: id,
				StartedOn:    res.Build.Started.UTC(),
				FinishedOn:   res.Build.Solved.UTC(),
			},
		},
	}, nil
}
