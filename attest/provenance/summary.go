package provenance

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/moby/buildkit/util/purl"
	packageurl "github.com/package-url/packageurl-go"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// Summary is what an SLSA Provenance v1 predicate says about the build of
// an image, as a gateway's store records a build. Only BuildType and
// BuilderID are read from the provenance of other builders; the rest comes
// from Hallmark's build types (BuildType, BaseBuildType) and is empty for
// others.
type Summary struct {
	// BuildType is buildDefinition.buildType; BuilderID
	// runDetails.builder.id.
	BuildType, BuilderID string
	// BuildID is runDetails.metadata.invocationId, the gateway's build id;
	// Started and Finished are startedOn and finishedOn.
	BuildID           string
	Started, Finished time.Time
	// Requester is the caller the gateway built for.
	Requester Requester
	// Repository and Tags are where the build pushed and what it tagged.
	Repository string
	Tags       []string
	// Platforms are the platforms asked for (BuildType only).
	Platforms []string
	// Source is the build context; Dockerfile the Dockerfile's path in it
	// (empty when inline) and DockerfileDigest the Dockerfile as built
	// (BuildType only).
	Source           Source
	Dockerfile       string
	DockerfileDigest hallmark.Digest
	// Frontend and BuildKit are internalParameters' (BuildType only).
	Frontend string
	BuildKit BuildKit
	// Bases are the base images in order of first use: each resolved
	// dependency without a name, its pkg:docker purl read back into a
	// reference (registry defaults spelled out) with the digest it was
	// pinned to. RuntimeBase is the one the base policy marks as the final
	// stage's, or nil (FROM scratch, or provenance older than the base
	// policy). BuildType only.
	Bases       []hallmark.ResolvedBase
	RuntimeBase *hallmark.ResolvedBase
}

// Summarize reads a predicate that verified, leniently: fields this
// version does not know are ignored, so that the provenance of newer
// gateways reads too. A predicate of another build type yields only
// BuildType and BuilderID. Malformed JSON, and a Hallmark predicate with a
// malformed digest or base, are errors wrapping hallmark.ErrInvalid.
func Summarize(predicate []byte) (*Summary, error) {
	var head struct {
		BuildDefinition struct {
			BuildType string `json:"buildType"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
		} `json:"runDetails"`
	}
	if err := json.Unmarshal(predicate, &head); err != nil {
		return nil, fmt.Errorf("%w: summarize provenance: %w", hallmark.ErrInvalid, err)
	}
	s := &Summary{BuildType: head.BuildDefinition.BuildType, BuilderID: head.RunDetails.Builder.ID}
	var err error
	switch s.BuildType {
	case BuildType:
		err = s.build(predicate)
	case BaseBuildType:
		err = s.base(predicate)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: summarize provenance: %w", hallmark.ErrInvalid, err)
	}
	return s, nil
}

func (s *Summary) run(md Metadata) {
	s.BuildID, s.Started, s.Finished = md.InvocationID, md.StartedOn, md.FinishedOn
}

func (s *Summary) build(predicate []byte) error {
	var p Provenance
	if err := json.Unmarshal(predicate, &p); err != nil {
		return err
	}
	ext, in := p.BuildDefinition.ExternalParameters, p.BuildDefinition.InternalParameters
	s.run(p.RunDetails.Metadata)
	s.Requester, s.Repository, s.Tags, s.Platforms = ext.Requester, ext.Repository, ext.Tags, ext.Platforms
	s.Source, s.Dockerfile, s.Frontend, s.BuildKit = ext.Source, ext.Dockerfile.Path, in.Frontend, in.BuildKit
	if c := s.Source.Context; c != nil {
		if _, err := hallmark.ParseDigest(string(c.Digest)); err != nil {
			return fmt.Errorf("context digest: %w", err)
		}
	}
	s.DockerfileDigest = ext.Dockerfile.Digest
	var uris []string // of s.Bases
	for _, rd := range p.BuildDefinition.ResolvedDependencies {
		if rd.Name == DependencyDockerfile && s.DockerfileDigest == "" && rd.Digest["sha256"] != "" {
			s.DockerfileDigest = hallmark.Digest("sha256:" + rd.Digest["sha256"])
		}
		if rd.Name != "" {
			continue
		}
		b, err := readBase(rd)
		if err != nil {
			return err
		}
		s.Bases, uris = append(s.Bases, b), append(uris, rd.URI)
	}
	if s.DockerfileDigest != "" {
		if _, err := hallmark.ParseDigest(string(s.DockerfileDigest)); err != nil {
			return fmt.Errorf("dockerfile digest: %w", err)
		}
	}
	if in.BasePolicy == nil {
		return nil
	}
	for _, d := range in.BasePolicy.Bases {
		if !d.Runtime {
			continue
		}
		uri, err := purl.RefToPURL(packageurl.TypeDocker, d.Ref, nil)
		if err != nil {
			return fmt.Errorf("runtime base %q: %w", hallmark.Clip(d.Ref, 80), err)
		}
		for i := range s.Bases {
			if uris[i] == uri && s.Bases[i].Digest == d.Digest {
				s.RuntimeBase = &s.Bases[i]
			}
		}
	}
	return nil
}

// readBase reads back a base image dependency, as baseDependencies wrote
// it.
func readBase(rd ResourceDescriptor) (hallmark.ResolvedBase, error) {
	var b hallmark.ResolvedBase
	if !strings.HasPrefix(rd.URI, "pkg:"+packageurl.TypeDocker+"/") {
		return b, fmt.Errorf("base %q is not a pkg:docker purl", hallmark.Clip(rd.URI, 120))
	}
	d, err := hallmark.ParseDigest("sha256:" + rd.Digest["sha256"])
	if err != nil {
		return b, fmt.Errorf("base %q: %w", hallmark.Clip(rd.URI, 120), err)
	}
	ref, _, err := purl.PURLToRef(rd.URI)
	if err != nil {
		return b, fmt.Errorf("base %q: %w", hallmark.Clip(rd.URI, 120), err)
	}
	repo, err := registry.ReferenceRepository(ref)
	if err != nil {
		return b, fmt.Errorf("base %q: %w", hallmark.Clip(rd.URI, 120), err)
	}
	return hallmark.ResolvedBase{Ref: ref, Pinned: repo + "@" + d.String(), Digest: d}, nil
}

func (s *Summary) base(predicate []byte) error {
	var p BaseProvenance
	if err := json.Unmarshal(predicate, &p); err != nil {
		return err
	}
	ext := p.BuildDefinition.ExternalParameters
	s.run(p.RunDetails.Metadata)
	s.Requester, s.Repository, s.Tags = ext.Requester, ext.Repository, ext.Tags
	return nil
}
