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
//
// # How old bundles are treated
//
// Every rebuild of reproducible content adds bundles to the same image
// digest, and every re-scan with changed findings one more. Among the
// verified attestations about one image with the same predicate type signed
// by the same identity (certificate issuer and subject alternative name),
// only the newest by verified signing time (the verified RFC 3161
// timestamp, else the verified integrated time of a log entry) is
// evaluated. The older ones are superseded: the policy's rules never see
// them (neither in attestations nor in provenance, sbom or vulns), and
// ImageResult.Superseded and Verdict.Superseded list them, each naming the
// attestation that superseded it (Attestation.SupersededBy). Attestations
// signed at the same verified time are all kept, and so are attestations
// of the same type by other signers. Attestations that do not verify
// supersede nothing and are always reported.
//
// What a verification reads is chosen from the referrers index alone:
// registries copy each referrer manifest's annotations into the index (the
// referrers API and the "sha256-<hex>" fallback tag alike), and Hallmark
// publishes, besides the creation time (registry.AnnotationCreated, set at
// publishing, after signing, to the second) and the predicate type, the
// identity in the bundle's certificate (registry.AnnotationSignerIssuer,
// registry.AnnotationSignerIdentity). A verification walks the candidates
// newest first by their claimed creation time and keeps, per verified
// (predicate type, issuer, SAN), the newest verified signing time T. A
// candidate whose hints claim predicate type P, issuer I, SAN S and
// creation time C is skipped, neither its manifest nor its bundle fetched,
// when a verified attestation of (P, I, S) is known with C before T's
// second. Every other candidate is fetched and verified, several at once,
// and counts against WithMaxBundles. Candidates without all these hints
// (cosign's, older Hallmark's) are never skipped. So an image rebuilt
// fifty times costs about as much as one built once: the newest bundle of
// each type is fetched and verified, the rest skipped.
//
// The hints are unsigned; this is why letting them choose is safe:
//
//   - A hint can only make a verification read more (a forged newer
//     creation time or a forged other signer gets a bundle verified, not
//     skipped), or skip a bundle whose own index entry claims it is older
//     than a verified newer attestation of the same signer and type.
//   - Hallmark and cosign never write false hints, so a genuine bundle
//     skipped because of false ones was re-wrapped by someone with push
//     access to the repository; its original referrer, with honest
//     annotations, is still in the index and is verified (and deleting it
//     was in their power anyway).
//   - Junk referrers (bundles that do not verify) never hide real ones:
//     only verified attestations supersede, so junk is fetched, fails and
//     costs budget. Past WithMaxBundles an Evaluator gives no verdict, so
//     junk can make an image undeployable, never deployable.
//   - A replayed old genuine bundle with a forged new creation time is
//     verified; its verified time is old, so it supersedes nothing newer,
//     and the genuine newer bundle (whose creation time is after that old
//     verified time) is verified too, and supersedes it.
//   - The bundle hint (registry.AnnotationBundleDigest) names the blob
//     read and verified as the referrer's bundle, without its manifest:
//     the bundle is the evidence, the manifest only points at it. A false
//     one gets another blob verified: a genuine bundle about this image
//     (which push access could attach in a referrer of its own) or junk,
//     which fails. When the blob cannot be read or declares no Sigstore
//     bundle media type, the manifest is read and names the bundle.
//
// Which attestations a policy sees rests only on verified signing times;
// the hints decide what is read, and in what order.
package verify
