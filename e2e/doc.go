// Package e2e holds Hallmark's end-to-end tests. They start the real dev
// stack (buildkitd with runc, the Debian docker-registry, the dev OIDC issuer
// and hallmarkd as separate processes) and drive it the way users do: with
// the hallmark CLI and with a Connect client. Run them with `make e2e`; they
// need root (buildkitd) and build their tools on first use.
//
// If a component does not start, the tests fail; they never skip.
package e2e
