// Package publish stores Sigstore bundles next to the images they attest,
// as OCI 1.1 referrers. Finding and reading them again is package verify's
// job (verify.List, verify.Fetch); Publish recognises a bundle it already
// published from the hint annotations in the referrers index, confirmed by
// that referrer's manifest. The identifiers of the layout (artifact
// type, annotations, fallback tag, size limit) are package registry's,
// shared with verify.
//
// The referrer manifest is byte for byte the one cosign v3 writes for
// `cosign attest --new-bundle-format` (cosign v3.1.3,
// pkg/oci/remote/write.go, WriteAttestationNewBundleFormat and
// WriteReferrer), in the layout of cosign's specs/BUNDLE_SPEC.md that
// GitHub's attestations (@sigstore/oci, `gh attestation`) share:
//
//	{
//	  "schemaVersion": 2,
//	  "mediaType": "application/vnd.oci.image.manifest.v1+json",
//	  "config": {
//	    "mediaType": "application/vnd.oci.empty.v1+json",
//	    "size": 2,
//	    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
//	    "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"
//	  },
//	  "layers": [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "size": …, "digest": …}],
//	  "annotations": {
//	    "dev.sigstore.bundle.content": "dsse-envelope",
//	    "dev.sigstore.bundle.predicateType": "<predicate type>",
//	    "org.opencontainers.image.created": "<RFC 3339, UTC, seconds>"
//	  },
//	  "subject": {"mediaType": …, "size": …, "digest": "<image manifest>"},
//	  "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"
//	}
//
// Hallmark adds three unsigned hint annotations that cosign ignores:
// dev.hallmark.bundle.digest (the bundle layer's digest) and
// dev.hallmark.signer.issuer and dev.hallmark.signer.identity (the identity
// in the bundle's certificate), so that readers can pick referrers from the
// referrers index alone (registry.AnnotationBundleDigest and
// registry.AnnotationSigner*).
//
// cosign and `gh attestation` discover such manifests through the referrers
// API or, on registries without it, the "sha256-<hex>" tag of an OCI image
// index (the OCI distribution spec's referrers tag schema).
// go-containerregistry's remote.Put maintains that tag whenever it pushes a
// manifest with a subject to a registry whose referrers endpoint answers 404,
// and remote.Referrers reads the API first and the tag second; Publish and
// verify.List rely on both. The tag is updated read-modify-write without
// conditional requests, so Publish serialises calls for the same subject
// within the process, and PublishAll puts a build's manifests one at a time
// after uploading their blobs in parallel.
//
// Everything read from a registry is untrusted: manifests and bundles have
// size limits, and bundles must be verified (package verify) before use.
package publish
