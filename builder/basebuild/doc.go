// Package basebuild builds base images from BaseImage specs and pushes them
// by digest.
//
// A Builder runs a base build in four progress steps, without BuildKit:
// builder/debian's Apt resolves the spec's Debian packages, its Fetcher
// downloads them and checks each against the signed index, Assemble unpacks
// them into one reproducible layer, and the image is pushed by digest
// through the registry client. Tags are the caller's to move, once the
// image is attested, as for any build.
package basebuild
