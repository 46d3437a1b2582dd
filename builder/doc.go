// Package builder turns a validated hallmark.BuildRequest into an image in a
// registry, using BuildKit.
//
// Before anything runs, it reads the Dockerfile with BuildKit's own parser and
// resolves every base image to a digest; the solve then runs under a BuildKit
// source policy that rewrites each base to its pinned digest and denies every
// other image, so the result depends only on content-addressed inputs. The
// image is pushed by digest only; MoveTags points the tags at it in a separate
// last step, after the caller has attested it.
//
// It enforces the gateway's build policy (docs/build-policy.md): no
// credential-like build args, a base-image allowlist and pinning mode checked
// before anything is resolved, Dockerfile lint warnings, and, after the push
// by digest, a non-root user and a secret scan of the layers the build
// added, so that a refused image is never tagged or attested.
//
// A build's uploaded context comes from a builder/contextstore Store, which
// New takes as a dependency.
//
// BuildBase builds base images without BuildKit: builder/debian resolves a
// BaseImage spec's Debian packages with apt, checks and unpacks them into
// one reproducible layer, and the image is pushed by digest like any build.
package builder
