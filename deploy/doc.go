// Package deploy holds Hallmark's Kubernetes manifests: base/ is the
// kustomize base that the stock `kubectl kustomize` renders, install.yaml
// its rendered output for `kubectl apply -f`, example/ the one-file overlay
// an operator edits, and components/servicemonitor an optional
// ServiceMonitor. The package has no code; its tests keep install.yaml
// current, check the hardening of every object it creates, and check that
// the example changes only what it says (docs/deploy.md).
package deploy
