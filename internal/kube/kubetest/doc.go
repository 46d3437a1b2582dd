// Package kubetest is a fake Kubernetes API server for tests of the
// gateway's own calls (package kube): Secrets and the caBundle of webhook
// configurations, with resourceVersions and the API server's 409 answers.
// It stands in for the API server only in unit tests; e2e uses the real
// one.
package kubetest
