// Package deploy holds Hallmark's Kubernetes manifests: base/ is the
// kustomize base that the stock `kubectl kustomize` renders, install.yaml
// its rendered output for `kubectl apply -f`. The package has no code; its
// tests keep install.yaml current and check the hardening of every object
// it creates (docs/deploy.md).
package deploy
