package store

import (
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Kinds of builds and of audit events.
const (
	KindBuild     = "build"     // an image build (BuildService.Build)
	KindBase      = "base"      // a base image build (BuildService.BuildBase)
	KindVerify    = "verify"    // a VerifyService decision
	KindAdmission = "admission" // an admission webhook decision
	KindTag       = "tag"       // a tag the gateway moved
	KindPush      = "push"      // a registry event: a manifest pushed
	KindPull      = "pull"      // a registry event: a manifest pulled
	KindDelete    = "delete"    // a registry event: a manifest deleted
	KindImport    = "import"    // an image backfilled from its registry
	KindVulnDB    = "vulndb"    // an import of vulnerability advisories
)

// Outcomes of builds and audit events.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
	OutcomeCanceled  = "canceled"
	OutcomeRunning   = "running"
	OutcomeAllowed   = "allowed"
	OutcomeDenied    = "denied"
)

// Build is the record of one build, successful or not.
type Build struct {
	// ID is the gateway's build id.
	ID string `json:"id"`
	// Kind is KindBuild, KindBase, or KindImport for an image recorded
	// from its registry (Import says how).
	Kind string `json:"kind"`
	// Requester is the verified caller, its claims as the provenance keeps
	// them. For an import, the requester the image's verified provenance
	// names, or the importer when it names none (Import.RequesterFrom).
	Requester hallmark.Identity `json:"requester"`
	// Repository is "registry/repository".
	Repository string `json:"repository"`
	// Source is what was built.
	Source Source `json:"source"`
	// Platforms are the platforms asked for.
	Platforms []string `json:"platforms,omitempty"`
	// Bases are the base images, pinned; the one the final stage runs on
	// has Runtime set.
	Bases []Base `json:"bases,omitempty"`
	// Digest is the image built; empty when the build failed before.
	Digest hallmark.Digest `json:"digest,omitempty"`
	// Tags are the tags moved to Digest, with what they pointed at before.
	Tags []TagMove `json:"tags,omitempty"`
	// Attestations are the statements signed and published for Digest.
	Attestations []Attestation `json:"attestations,omitempty"`
	// Packages are those of the image's signed SBOM. They are indexed, not
	// kept in the build's record.
	Packages []Package `json:"-"`
	// Started and Finished bound the build.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Outcome is OutcomeSucceeded, OutcomeFailed or OutcomeCanceled, or
	// OutcomeRunning until it ends; Error is what the caller was told when
	// it failed.
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
	// Progress is how far a running build has got; nil once it ended.
	Progress *Progress `json:"progress,omitempty"`
	// Worker names the BuildKit daemon that ran the build.
	Worker string `json:"worker,omitempty"`
	// Import says how an image of kind KindImport was recorded; nil for
	// every other kind.
	Import *Import `json:"import,omitempty"`
}

// Where the requester of an import comes from (Import.RequesterFrom).
const (
	RequesterFromProvenance = "provenance" // the verified provenance's requester
	RequesterFromImporter   = "importer"   // the provenance named none: the importer
)

// Import is how an image already in a registry was recorded: verified,
// then described by its verified statements. Its audit records name By as
// their actor and are stamped At, whatever the build's own times.
type Import struct {
	// By is who imported it: "issuer subject" of the verified caller.
	By string `json:"by"`
	// At is when it was imported.
	At time.Time `json:"at"`
	// Ref is the image reference as given.
	Ref string `json:"ref"`
	// Policy names the verification policy whose verdict allowed it.
	Policy string `json:"policy"`
	// RequesterFrom is RequesterFromProvenance or RequesterFromImporter.
	RequesterFrom string `json:"requesterFrom"`
	// BuildID is the id of the build the provenance describes
	// (runDetails.metadata.invocationId), if it names one.
	BuildID string `json:"buildID,omitempty"`
	// BuildType is the provenance's buildType, if the image has one.
	BuildType string `json:"buildType,omitempty"`
}

// Source is what a build built.
type Source struct {
	// ContextDigest names an uploaded context; GitURL, GitCommit and
	// GitSubdir a git source.
	ContextDigest hallmark.Digest `json:"contextDigest,omitempty"`
	GitURL        string          `json:"gitURL,omitempty"`
	GitCommit     string          `json:"gitCommit,omitempty"`
	GitSubdir     string          `json:"gitSubdir,omitempty"`
	// Dockerfile is its path in the context; DockerfileDigest the sha256
	// of the Dockerfile as built.
	Dockerfile       string          `json:"dockerfile,omitempty"`
	DockerfileDigest hallmark.Digest `json:"dockerfileDigest,omitempty"`
	// Frontend is the BuildKit frontend that built the image.
	Frontend string `json:"frontend,omitempty"`
}

// Base is a base image a build used.
type Base struct {
	// Ref is the reference as written in FROM; Repository its
	// "registry/repository"; Digest what it was pinned to.
	Ref        string          `json:"ref"`
	Repository string          `json:"repository"`
	Digest     hallmark.Digest `json:"digest"`
	// Runtime marks the base the final stage is built on.
	Runtime bool `json:"runtime,omitempty"`
}

// TagMove is one tag moved to a digest.
type TagMove struct {
	// Tag is the tag alone ("v1"), in the build's repository.
	Tag string `json:"tag"`
	// Previous is the digest the tag pointed at before, or empty when it
	// was new (or the gateway could not tell).
	Previous hallmark.Digest `json:"previous,omitempty"`
}

// Attestation is a signed statement published for an image.
type Attestation struct {
	// PredicateType is the statement's predicate type.
	PredicateType string `json:"predicateType"`
	// Digest is the digest of the referrer manifest that carries the bundle.
	Digest hallmark.Digest `json:"digest"`
	// Signer and Issuer are the certificate's identity and OIDC issuer.
	Signer string `json:"signer,omitempty"`
	Issuer string `json:"issuer,omitempty"`
	// LogIndex is the Rekor entry's log index, -1 when there is none.
	LogIndex int64 `json:"logIndex"`
	// SignedAt is the signature's verified time (Rekor integrated time or
	// RFC 3161 timestamp).
	SignedAt time.Time `json:"signedAt,omitzero"`
}

// Package is a package of an image's SBOM.
type Package struct {
	// PURL is the package URL as the SBOM has it.
	PURL string
	// Type, Namespace, Name and Version are the purl's.
	Type, Namespace, Name, Version string
	// Source is the source package it was built from (the purl's upstream
	// qualifier for Debian and Alpine), or empty.
	Source string
}

// Decision is one verification or admission decision.
type Decision struct {
	// Kind is KindVerify or KindAdmission.
	Kind string
	// At is when the decision was made.
	At time.Time
	// Caller is who asked: "issuer subject" for VerifyService, the
	// AdmissionReview's userInfo.username for admission.
	Caller string
	// Namespace and Object name the admitted object ("Pod/web-1").
	Namespace, Object string
	// Ref is the image as asked for, Repository and Digest what it
	// resolved to (empty when it did not resolve).
	Ref        string
	Repository string
	Digest     hallmark.Digest
	// Policy names the policy evaluated.
	Policy string
	// Allowed is the verdict; FailedRules the rules that failed and
	// Reasons the verdict's reasons.
	Allowed     bool
	FailedRules []string
	Reasons     []string
	// Cached says the verdict came from the verdict cache.
	Cached bool
	// Count is how many decisions, made from At to Last and identical but
	// for their object, this one stands for (Merge); 0 or 1 means this
	// one alone. Objects are then their distinct objects, Object the
	// first.
	Count   int
	Last    time.Time
	Objects []string
}
