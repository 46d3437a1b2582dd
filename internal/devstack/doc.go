// Package devstack builds, starts and stops the real components that Hallmark
// runs against in development and in end-to-end tests: BuildKit (buildkitd
// with runc), an OCI registry, and a small OIDC issuer that mints CI tokens;
// and PostgreSQL (StartPostgres), for the dev stack and for tests through
// internal/pgtest.
//
// Tools are built from the Go module proxy at the versions pinned in the
// modules under tools/, once, into ${XDG_CACHE_HOME:-~/.cache}/hallmark/tools,
// and reused. runc, the registry and PostgreSQL come from Debian packages,
// which EnsurePackages installs when missing. Nothing here is a mock: every
// component is the real program.
package devstack
