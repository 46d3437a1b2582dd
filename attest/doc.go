// Package attest describes every image Hallmark builds and signs what it
// says: an SPDX 2.3 SBOM (attest/sbom) and SLSA Provenance v1
// (attest/provenance), each an in-toto statement (internal/intoto, shared with verify) about the
// image digest, keyless-signed into a Sigstore bundle (attest/sign) and
// pushed next to the image as an OCI 1.1 referrer (attest/publish).
//
// Attester runs those steps for one build. It never moves tags: the server
// does that only after Attest succeeds, so no tag ever names an unattested
// image.
package attest
