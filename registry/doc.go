// Package registry is the one way Hallmark talks to OCI registries. builder,
// attest and verify (and the commands) reach registries only through it, so
// that they agree on what a reference means, how credentials are found and
// what a failure is called.
//
// A Client holds what is configured once per process: the credentials
// (an authn.Keychain; Keychain serves static credentials per host), the
// registry hosts spoken to over plain HTTP, the HTTP transport, and one
// go-containerregistry Puller and Pusher shared by every call, so that a
// repository costs one ping and token exchange, not one per request.
//
//   - ParseReference, ParseTag, ParseDigest and ParseRepository parse image
//     names, for plain HTTP when their registry is one of the insecure hosts
//     (go-containerregistry already speaks plain HTTP to localhost, loopback
//     and private addresses).
//   - ReferenceRepository names the repository of a reference as
//     ParseReference parses it, and RepositoryNames the spellings of a
//     repository ("docker.io/…" and "index.docker.io/…" for Docker Hub), so
//     that authorization patterns match however a name was normalised.
//   - RemoteOptions are the options of every go-containerregistry call.
//   - Error and Class map a registry failure to the root package's sentinel
//     errors, the same way for every caller: refused access is
//     hallmark.ErrPermissionDenied, a missing manifest, blob or repository
//     hallmark.ErrNotFound, an unreachable or failing registry
//     hallmark.ErrUnavailable, and a canceled call hallmark.ErrCanceled.
//   - ReadBlob reads a blob with a size limit and checks its digest;
//     WithManifestLimit bounds the manifests, indexes and referrers
//     responses read under a context, and every request follows at most
//     MaxRedirects redirects (TooLargeError says which limit was hit).
//
// It also names the layout of Sigstore bundle referrers that attest/publish
// writes and verify reads (the one cosign v3 and GitHub write): the
// artifact type, the annotations and the "sha256-<hex>" fallback tag of
// registries without the referrers API (FallbackTag), and MaxBundleSize.
//
// Package registrytest serves an in-process registry for tests.
package registry
