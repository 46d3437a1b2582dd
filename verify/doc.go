// Package verify answers "what is this image, and who says so?": it finds
// the Sigstore bundles attached to an image as OCI 1.1 referrers and
// verifies them.
//
// List and Fetch discover and read bundle referrers in the layout cosign v3
// and GitHub write (package attest/publish writes the same): the referrers
// API first, then the "sha256-<hex>" tag fallback, with size limits on
// everything read.
//
// A Verifier checks one image (docs/architecture.md, "A verification"):
// the reference is resolved to a digest once, and everything after
// uses that digest, so a tag that moves meanwhile cannot mix two images;
// each bundle is verified with sigstore-go against the trusted root
// (certificate chain, SCT when the root lists CT logs, transparency log
// inclusion, RFC 3161 timestamp when no log entry has an integrated time,
// DSSE signature); its certificate must match one of the allowed signer
// identities; its payload must be an in-toto Statement v1 (internal/intoto
// parses it strictly) with a subject whose sha256 is the image digest.
//
// A bundle that fails any check is a result, an Attestation with Verified
// false and a Failure that says why, never an error: errors mean the image
// could not be evaluated (registry unreachable, image missing, malformed
// reference). Everything unknown fails closed: unsupported bundle media
// types, oversized or malformed bundles, keys instead of certificates.
package verify
