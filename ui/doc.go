// Package ui is the gateway's web view for release engineers: one page per
// image (tags, builds, base images, attestations, the SBOM's packages,
// vulnerability findings, verification and admission decisions) and lists
// of images, builds and audit records.
//
// Pages are rendered on the server with html/template from templates
// embedded in the binary, with one small embedded stylesheet: no
// JavaScript, no CDN, no external fonts, and a strict
// Content-Security-Policy. Searching, sorting and paging are query
// parameters, so every view has a shareable URL.
//
// The handler reads through the same store as QueryService and with the
// same read scope: a caller sees only repositories its identity may read.
// It never imports server/; cmd/hallmarkd injects the authenticator, the
// read scope and the store (Deps).
package ui
