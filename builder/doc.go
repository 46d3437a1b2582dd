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
// It also owns the inputs of a build: the content-addressed store of uploaded
// contexts and their safe extraction.
package builder
