// Package builder turns a validated hallmark.BuildRequest into an image in a
// registry, using BuildKit.
//
// Before anything runs, it reads the Dockerfile with BuildKit's own parser and
// resolves every base image to a digest; the solve then runs under a BuildKit
// source policy that rewrites each base to its pinned digest and denies every
// other image, so the result depends only on content-addressed inputs. The
// image is pushed by digest only; MoveTags points the tags at it in a separate
// last step, after the caller has attested it, for BuildKit builds and base
// builds alike.
//
// It enforces the gateway's build policy (docs/build-policy.md): no
// credential-like build args, a base-image allowlist and pinning mode checked
// before anything is resolved, Dockerfile lint warnings, and, after the push
// by digest, a non-root user and a secret scan of the layers the build
// added, so that a refused image is never tagged or attested.
//
// builder owns the BuildKit work and the glue around it; the parts that do
// not need BuildKit are packages of their own, which builder calls:
//
//   - builder/contextstore stores uploaded contexts; New takes a Store. A
//     build reads its Dockerfile straight from the stored archive, and
//     extracts the context only once the queue admits it.
//   - builder/dockerlint gives the lint warnings of InspectDockerfile.
//   - builder/secretscan checks build args and scans the pushed image,
//     which builder fetches through the registry client.
//   - builder/pool places each build on one of the BuildKit workers by a
//     consistent hash of its cache scope and repository, skips workers
//     that fail health checks, and gives every worker its own
//     builder/queue, which admits builds, at most WithMaxParallel at a
//     time. A build whose worker cannot be dialed before the solve starts
//     moves to the next worker; a worker lost mid-build fails the build
//     as unavailable.
//
// Base images are built without BuildKit, by builder/basebuild.
package builder
