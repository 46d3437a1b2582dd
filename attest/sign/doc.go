// Package sign signs in-toto statements keylessly, as the gateway itself,
// with Sigstore.
//
// A [Signer] turns one statement into a Sigstore bundle v0.3
// (hallmark.MediaTypeBundleV03): an ephemeral ECDSA P-256 key that exists
// only in this process signs a DSSE envelope (payload type
// hallmark.PayloadTypeInToto); Fulcio certifies the key for the identity in
// the gateway's OIDC token; a Rekor entry and/or RFC 3161 timestamps record
// when it happened. Which Fulcio, Rekor and timestamp authorities are used is
// decided by the Sigstore signing config (sigstore-go's root.SigningConfig,
// the same signing_config.json cosign reads), per signature.
//
// Rekor v2 entries carry no integrated time, so a signing config that selects
// a Rekor v2 log must also select a timestamp authority; New refuses one that
// does not.
//
// Every bundle is verified with sigstore-go against the trusted root and the
// expected signer identity before Sign returns it: a Signer never hands out a
// bundle that would not verify (fail closed).
//
// Tokens come from a [TokenSource] and are read right before each Fulcio
// request; they never appear in logs or errors. The signing key and, with
// [WithCertificateReuse], the certificate live in memory only.
//
// The sub-package signtest runs a fake Fulcio, timestamp authority and Rekor
// v2 log as httptest servers for unit tests.
package sign
