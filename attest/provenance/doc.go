// Package provenance writes the SLSA Provenance v1 predicate
// (https://slsa.dev/provenance/v1) of an image built by Hallmark.
//
// Hallmark is the build platform: every field comes from the gateway's own
// record of the build (the validated request, the caller's verified identity,
// the pinned base images, BuildKit's answer), never from the caller's claims
// about it, which is what SLSA Build L3 calls "unforgeable" provenance. The
// build type is BuildType, documented field by field in docs/provenance.md.
//
// Predicate is deterministic: the same Build gives the same bytes. It never
// writes a secret's value or a token: secrets appear by id only, the
// requester by issuer, subject and an allowlist of CI claims, build args
// whose names look like credentials by name only, credentials in git URLs
// are removed, and a final scan refuses any output that still contains a
// secret's value.
//
// The predicate becomes an in-toto statement with package internal/intoto,
// whose subject is the image digest.
package provenance
