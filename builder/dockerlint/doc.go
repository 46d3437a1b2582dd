// Package dockerlint warns about risky Dockerfile instructions.
//
// Lint reads the instructions BuildKit's own parser gives and returns
// warnings, never errors, in BuildKit's short form: an ADD of a URL without
// --checksum, an apt-get install without pinned versions, a download piped
// into a shell. Warnings are published in the provenance, so they never
// show credentials a URL holds.
package dockerlint
