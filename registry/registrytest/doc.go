// Package registrytest serves go-containerregistry's in-process registry
// (pkg/registry) on loopback behind httptest, for tests: with or without
// the OCI referrers API, with a hook that sees (and may answer) every
// request, a request count, and helpers that push images past the hook.
// It is the one test registry of every package; the real registries run
// only in e2e. It also holds the fixtures that tests of referrers share:
// both referrer modes, a bundle-shaped document, an unreachable host.
package registrytest
