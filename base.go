package hallmark

// BaseRequest is one base image build from a BaseImage spec (Debian
// packages, docs/base-images.md), validated by the server.
type BaseRequest struct {
	// ID is the gateway's id for the build.
	ID string
	// Requester is the verified caller.
	Requester Identity
	// Spec is the BaseImage spec (YAML) as the caller sent it.
	Spec []byte
	// Repository is "registry/repository", the one repository of all Tags.
	Repository string
	// Tags are full references "registry/repository:tag".
	Tags []string
}

// BaseResult is the outcome of a base image build.
type BaseResult struct {
	// Build holds what every build reports: id, digest, repository, tags,
	// times (Started, Solved: assembled and pushed by digest) and, once
	// attested, the attestations. Bases, BuildKit, Frontend and
	// DockerfileDigest are empty.
	Build BuildResult
	// Spec is the parsed spec as JSON, the build's external parameters.
	Spec []byte
	// SpecDigest is the sha256 of the spec as sent.
	SpecDigest Digest
	// Architecture is the Debian architecture, e.g. "amd64".
	Architecture string
	// Sources are the apt sources the packages were resolved from.
	Sources []string
	// Packages are the installed packages, sorted by name.
	Packages []DebianPackage
}

// DebianPackage is one Debian binary package installed into an image.
type DebianPackage struct {
	Name         string
	Version      string
	Architecture string
	// URI is the mirror URL the .deb was downloaded from.
	URI string
	// SHA256 is the .deb's digest, as the signed Packages index gives it
	// and as checked after the download.
	SHA256 Digest
	// Size is the .deb's size in bytes.
	Size int64
}
