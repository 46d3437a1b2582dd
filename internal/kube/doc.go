// Package kube is a small typed client of the Kubernetes API: just the calls
// the gateway makes itself (Secrets, and the caBundle of admission webhook
// configurations), with net/http and the k8s.io/api types, instead of
// client-go.
//
// A Client reaches the API server either from inside a Pod (NewInCluster:
// KUBERNETES_SERVICE_HOST and _PORT, and the service-account token, CA and
// namespace under /var/run/secrets/kubernetes.io/serviceaccount/) or through
// a kubeconfig file (NewFromKubeconfig: the current context's server, CA and
// bearer token or client certificate). A token file is re-read before every
// call, since the kubelet rotates the projected token.
//
// Errors wrap a *StatusError when the API server answered with a status
// other than 2xx; IsNotFound, IsAlreadyExists and IsConflict tell the cases
// apart. No error ever holds the bearer token.
package kube
