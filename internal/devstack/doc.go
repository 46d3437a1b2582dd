// Package devstack builds, starts and stops the real components that Hallmark
// runs against in development and in end-to-end tests: BuildKit (buildkitd
// with runc), an OCI registry, and a small OIDC issuer that mints CI tokens.
//
// Tools are built from the Go module proxy at the versions pinned in the
// modules under tools/, once, into ${XDG_CACHE_HOME:-~/.cache}/hallmark/tools,
// and reused. Nothing here is a mock: every component is the real program.
package devstack
