// Package intoto writes and reads in-toto Statement v1 JSON
// (https://in-toto.io/Statement/v1), the layer between a DSSE envelope and a
// predicate such as SLSA provenance or an SPDX document.
//
// Statement writes one deterministic statement about one image: the same
// arguments always give the same bytes, which is what gets signed. The
// subject name of an image is its repository, "registry/repository" without
// tag or digest (hallmark.BuildResult.Repository), exactly as `cosign attest`
// writes it (cosign v3 uses name.Digest.Repository.String() from
// go-containerregistry) and as GitHub's artifact attestations do; the subject
// digest is the image manifest (or index) digest. Verifiers match subjects by
// digest only.
//
// Parse reads a statement from untrusted bytes (a verified DSSE payload is
// still input from a registry): it bounds the size, rejects duplicate or
// differently-cased keys and unknown fields, and checks the type and the
// subject digests before anything reads the predicate.
package intoto
