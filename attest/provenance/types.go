package provenance

import (
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Provenance is the SLSA Provenance v1 predicate of BuildType, as Predicate
// writes it and Parse reads it.
type Provenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition is the provenance's buildDefinition.
type BuildDefinition struct {
	// BuildType is always BuildType.
	BuildType            string               `json:"buildType"`
	ExternalParameters   ExternalParameters   `json:"externalParameters"`
	InternalParameters   InternalParameters   `json:"internalParameters"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies"`
}

// ExternalParameters are the build's inputs chosen by the caller.
type ExternalParameters struct {
	Source     Source     `json:"source"`
	Dockerfile Dockerfile `json:"dockerfile"`
	// Target is the build stage, if one was named.
	Target string `json:"target,omitempty"`
	// BuildArgs are the build args with their values, except those in
	// RedactedBuildArgs.
	BuildArgs map[string]string `json:"buildArgs,omitempty"`
	// RedactedBuildArgs names build args whose names look like credentials
	// (BuildKit's SecretsUsedInArgOrEnv rule); their values are not written.
	RedactedBuildArgs []string `json:"redactedBuildArgs,omitempty"`
	// Secrets are the ids of the build's secret mounts, sorted; never values.
	Secrets   []string          `json:"secrets,omitempty"`
	Platforms []string          `json:"platforms,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	NoCache   bool              `json:"noCache"`
	// Repository is "registry/repository", the image's repository.
	Repository string `json:"repository"`
	// Tags are the full references the image is tagged with after
	// attestation.
	Tags      []string  `json:"tags"`
	Requester Requester `json:"requester"`
}

// Source is the build context: exactly one field is set.
type Source struct {
	Context *ContextSource `json:"context,omitempty"`
	Git     *GitSource     `json:"git,omitempty"`
}

// ContextSource is an uploaded build context, by the digest of its tar.
type ContextSource struct {
	Digest hallmark.Digest `json:"digest"`
}

// GitSource is a build context BuildKit fetched from git at a full commit.
type GitSource struct {
	// URL is the repository URL without any credentials.
	URL    string `json:"url"`
	Commit string `json:"commit"`
	Subdir string `json:"subdir,omitempty"`
}

// Dockerfile says where the Dockerfile came from: a path in the source, or
// inline in the request (then its digest is given here too).
type Dockerfile struct {
	Path   string          `json:"path,omitempty"`
	Inline bool            `json:"inline,omitempty"`
	Digest hallmark.Digest `json:"digest,omitempty"`
}

// Requester is the caller's verified identity.
type Requester struct {
	Issuer  string `json:"issuer"`
	Subject string `json:"subject"`
	// Claims are the allowlisted CI claims the token had, as strings.
	Claims map[string]string `json:"claims,omitempty"`
}

// InternalParameters are the build's inputs chosen by the gateway.
type InternalParameters struct {
	BuildKit    BuildKit `json:"buildkit"`
	Frontend    string   `json:"frontend"`
	BasePinning string   `json:"basePinning"`
	// BasePolicy is the gateway's base-image policy decision, when it took
	// one.
	BasePolicy *BasePolicy `json:"basePolicy,omitempty"`
	// CacheScope is the scope whose BuildKit cache mounts (RUN
	// --mount=type=cache) the build shared: the authorizing rule's
	// cacheScope, or the image repository. Absent in provenance from
	// gateways older than cache scopes.
	CacheScope string `json:"cacheScope,omitempty"`
	// Network is the network RUN steps had: "none" (a hermetic build) or
	// "default". Absent in provenance from gateways older than the
	// setting, which ran every build with the default network.
	Network string `json:"network,omitempty"`
	// Warnings are the gateway's lint and secret-scan warnings and the
	// Dockerfile frontend's warnings.
	Warnings []string `json:"warnings,omitempty"`
}

// BasePolicy is the base-image policy the gateway applied before the solve.
type BasePolicy struct {
	// Mode is "pin" (the gateway pinned tags to digests) or
	// "require-digest" (the Dockerfile had to pin every base).
	Mode string `json:"mode"`
	// Bases has one decision per distinct base image, in order of first
	// use.
	Bases []BaseDecision `json:"bases"`
}

// BaseDecision is why one base image was allowed and what it was pinned to.
type BaseDecision struct {
	// Ref is the reference as written, after ARG expansion.
	Ref string `json:"ref"`
	// Digest is the digest the base was pinned to.
	Digest hallmark.Digest `json:"digest"`
	// AllowedBy is the allowlist pattern that matched the base's
	// repository; absent when the gateway has no allowlist.
	AllowedBy string `json:"allowedBy,omitempty"`
	// Runtime is true for the base of the final stage, whose files the
	// image contains.
	Runtime bool `json:"runtime,omitempty"`
	// VerifiedBy names the verification policy under which the base's
	// own attestations verified before the build; absent when the gateway
	// does not require attested bases.
	VerifiedBy string `json:"verifiedBy,omitempty"`
}

// BuildKit describes the BuildKit daemon that ran the build.
type BuildKit struct {
	Version  string `json:"version,omitempty"`
	Revision string `json:"revision,omitempty"`
}

// ResourceDescriptor is an in-toto ResourceDescriptor, with the fields
// Hallmark uses.
type ResourceDescriptor struct {
	Name   string            `json:"name,omitempty"`
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
}

// RunDetails is the provenance's runDetails.
type RunDetails struct {
	Builder    Builder              `json:"builder"`
	Metadata   Metadata             `json:"metadata"`
	Byproducts []ResourceDescriptor `json:"byproducts,omitempty"`
}

// Builder identifies the build platform.
type Builder struct {
	ID string `json:"id"`
	// Version has the keys "hallmark" and "buildkit", when known.
	Version map[string]string `json:"version,omitempty"`
}

// Metadata is the provenance's runDetails.metadata.
type Metadata struct {
	// InvocationID is the gateway's build id.
	InvocationID string    `json:"invocationId"`
	StartedOn    time.Time `json:"startedOn"`
	FinishedOn   time.Time `json:"finishedOn"`
}
