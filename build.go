package hallmark

import "time"

// Identity is a verified caller: the claims of an OIDC ID token that the
// gateway checked against a trusted issuer.
type Identity struct {
	// Issuer is the token's "iss" claim.
	Issuer string
	// Subject is the token's "sub" claim.
	Subject string
	// Claims holds every claim of the token, for authorization rules and
	// provenance. It never holds the token itself.
	Claims map[string]any
}

// GitSource is a build context that BuildKit fetches from git.
type GitSource struct {
	URL    string
	Commit string
	Subdir string
}

// Secret is a build secret, exposed only as a BuildKit secret mount.
type Secret struct {
	ID    string
	Value []byte
}

// String hides the value so that a secret never reaches a log by accident.
func (s Secret) String() string { return "secret(" + s.ID + ")" }

// BuildRequest is one build, validated by the server.
type BuildRequest struct {
	// ID is the gateway's id for the build; BuildKit sees it as the build ref.
	ID string
	// Requester is the verified caller.
	Requester Identity
	// ContextDigest names an uploaded context; exactly one of ContextDigest
	// and Git is set.
	ContextDigest Digest
	Git           *GitSource
	// Dockerfile is the path of the Dockerfile inside the context.
	Dockerfile string
	// DockerfileInline, when set, is the Dockerfile's content.
	DockerfileInline []byte
	// Repository is "registry/repository", the one repository of all Tags.
	Repository string
	// Tags are full references "registry/repository:tag".
	Tags      []string
	BuildArgs map[string]string
	Platforms []string
	Target    string
	Secrets   []Secret
	Labels    map[string]string
	NoCache   bool
	// AllowRoot lets the final image run as root: the caller's
	// authorization rule allows it (allowRootUnsafe).
	AllowRoot bool
	// CacheScope is who shares the build's cache mounts (RUN
	// --mount=type=cache): the cacheScope of the authorizing rule, or the
	// Repository when the rule names none. Builds of different scopes never
	// see each other's cache mounts. Empty means the Repository.
	CacheScope string
	// Network is the network RUN steps get, as the authorizing rule grants
	// it: NetworkDefault or NetworkNone. Empty means NetworkDefault.
	Network string
	// Readable are patterns ("registry/path" globs of the configuration's
	// dialect) of the repositories the requester may read: the gateway
	// pulls with its own credentials, so every image the build pulls (FROM,
	// COPY --from, RUN --mount from=) must be in one of them. Empty allows
	// none.
	Readable []string
}

// Network modes of RUN steps (BuildRequest.Network, BuildResult.Network).
const (
	// NetworkDefault is BuildKit's sandboxed network: RUN steps reach
	// whatever the BuildKit host can reach.
	NetworkDefault = "default"
	// NetworkNone gives RUN steps no network but loopback: a hermetic build.
	NetworkNone = "none"
)

// ResolvedBase is a base image reference pinned to a digest.
type ResolvedBase struct {
	// Ref is the reference as written in FROM, after ARG expansion.
	Ref string
	// Pinned is "registry/repository@sha256:<hex>".
	Pinned string
	Digest Digest
}

// BuildResult is the outcome of a successful build.
type BuildResult struct {
	ID         string
	Digest     Digest
	Repository string
	Tags       []string
	Pinned     string
	Bases      []ResolvedBase
	Started    time.Time
	Finished   time.Time
	// RuntimeBase is the image the final stage is built on (following stage
	// references), or nil for FROM scratch.
	RuntimeBase *ResolvedBase
	// Solved is when BuildKit finished and the image was pushed by digest.
	Solved time.Time
	// BuildKit describes the daemon that ran the build.
	BuildKit BuildKitInfo
	// Frontend is the BuildKit frontend that built the image: "dockerfile.v0"
	// (the Dockerfile frontend built into BuildKit), or the frontend image a
	// "# syntax=" directive selected, pinned by digest
	// ("docker.io/docker/dockerfile:1.7@sha256:…").
	Frontend string
	// CacheScope is the scope whose cache mounts the build used
	// (BuildRequest.CacheScope, never empty).
	CacheScope string
	// Network is the network RUN steps had: NetworkDefault or NetworkNone.
	Network string
	// DockerfileDigest is the sha256 of the Dockerfile as built.
	DockerfileDigest Digest
	// Warnings are the gateway's and the frontend's warnings about the
	// build (Dockerfile lint, suppressed secret-scan findings).
	Warnings []string
	// BasePolicy is the base-image policy decision, or nil when none was
	// taken.
	BasePolicy *BasePolicy
	// Attestations are the signed statements published for the image.
	Attestations []Attestation
}

// BasePolicy is the gateway's base-image policy decision for one build.
type BasePolicy struct {
	// Mode is how bases are pinned: "pin" (the gateway pins tags to
	// digests) or "require-digest" (the Dockerfile must pin them).
	Mode string
	// Bases has one decision per distinct base image, in order of first use.
	Bases []BaseDecision
}

// BaseDecision records why one base image was allowed and what it was
// pinned to.
type BaseDecision struct {
	// Ref is the reference as written, after ARG expansion.
	Ref string
	// Digest is the digest the base was pinned to.
	Digest Digest
	// AllowedBy is the allowlist pattern that matched the base's
	// repository, or "" when the gateway has no allowlist.
	AllowedBy string
	// Runtime reports whether the final stage is built on this base.
	Runtime bool
	// VerifiedBy is the verification policy under which the base's
	// attestations were verified before the build, or "" when the gateway
	// does not require attested bases.
	VerifiedBy string
}

// BuildKitInfo describes a BuildKit daemon.
type BuildKitInfo struct {
	// Version is the daemon's version, e.g. "v0.34.2".
	Version string
	// Revision is its source revision, if known.
	Revision string
	// Address is the worker's address (unix:///path, tcp://host:port).
	Address string
}
