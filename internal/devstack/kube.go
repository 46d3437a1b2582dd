package devstack

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// VerifyLabel is the namespace label that opts a namespace into the dev
// stack's admission webhook: hallmark.dev/verify=enabled.
const VerifyLabel = "hallmark.dev/verify"

// WebhookName is the name of the dev stack's webhook configurations.
const WebhookName = "hallmark.dev"

// startKubernetes starts etcd and a kube-apiserver on loopback (no kubelet:
// admitted Pods stay Pending), writes an admin kubeconfig, and registers the
// gateway's admission webhook for namespaces labelled VerifyLabel=enabled.
func (s *Stack) startKubernetes(ctx context.Context) error {
	bins := map[string]string{}
	for _, t := range [][2]string{{"etcd", "etcd"}, {"kubernetes", "kube-apiserver"}, {"kubernetes", "kubectl"}} {
		bin, err := Tool(ctx, s.cfg.Repo, t[0], t[1], s.cfg.Progress)
		if err != nil {
			return err
		}
		bins[t[1]] = bin
	}
	kdir := filepath.Join(s.cfg.Dir, "kubernetes")
	// A fresh cluster per start: state from an earlier run must not leak in.
	if err := os.RemoveAll(kdir); err != nil {
		return err
	}
	if err := os.MkdirAll(kdir, 0o700); err != nil {
		return err
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	etcdURL, peerURL := "http://"+ports[0], "http://"+ports[1]
	if err := s.spawn(ctx, "etcd", bins["etcd"], "--name", "default", "--data-dir", filepath.Join(kdir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL, "--log-level", "warn"); err != nil {
		return err
	}
	if err := s.waitHTTP(ctx, "etcd", etcdURL+"/health"); err != nil {
		return err
	}
	token, err := s.kubeCredentials(kdir)
	if err != nil {
		return err
	}
	_, port := splitAddr(ports[2])
	if err := s.spawn(ctx, "kube-apiserver", bins["kube-apiserver"],
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", port,
		"--tls-cert-file", s.ServingCert, "--tls-private-key-file", s.ServingKey,
		"--cert-dir", filepath.Join(kdir, "certs"),
		"--token-auth-file", filepath.Join(kdir, "tokens.csv"),
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(kdir, "sa.key"),
		"--service-account-signing-key-file", filepath.Join(kdir, "sa.key"),
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--endpoint-reconciler-type", "none",
		"--disable-admission-plugins", "ServiceAccount",
		"--enable-priority-and-fairness=false",
		"--profiling=false"); err != nil {
		return err
	}
	server := "https://" + ports[2]
	cl, err := s.kubeClient()
	if err != nil {
		return err
	}
	if err := s.waitFor(ctx, "kube-apiserver", func(ctx context.Context) error {
		return kubeCall(ctx, cl, token, http.MethodGet, server+"/readyz", nil)
	}); err != nil {
		return err
	}
	s.Kubeconfig = filepath.Join(kdir, "kubeconfig")
	if err := writeKubeconfig(s.Kubeconfig, server, s.TLSRoot, token); err != nil {
		return err
	}
	s.Kubectl = bins["kubectl"]
	return s.registerWebhooks(ctx, cl, server, token)
}

// kubeCredentials writes the API server's admin token file and service
// account signing key, and returns the token.
func (s *Stack) kubeCredentials(kdir string) (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := hex.EncodeToString(b)
	if err := os.WriteFile(filepath.Join(kdir, "tokens.csv"), []byte(token+`,hallmark-admin,1,"system:masters"`+"\n"), 0o600); err != nil {
		return "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	// The API server reads SEC 1 ("EC PRIVATE KEY") keys, not PKCS #8.
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", err
	}
	return token, os.WriteFile(filepath.Join(kdir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

func (s *Stack) kubeClient() (*http.Client, error) {
	pem, err := os.ReadFile(s.TLSRoot)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("read %s: no certificate", s.TLSRoot)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}

// kubeCall makes one API call and fails unless it answers 2xx.
func kubeCall(ctx context.Context, cl *http.Client, token, method, url string, body any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

func writeKubeconfig(path, server, caFile, token string) error {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	cfg := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": "hallmark-dev",
		"clusters": []any{map[string]any{"name": "hallmark-dev", "cluster": map[string]any{
			"server": server, "certificate-authority-data": base64.StdEncoding.EncodeToString(ca)}}},
		"users":    []any{map[string]any{"name": "hallmark-admin", "user": map[string]any{"token": token}}},
		"contexts": []any{map[string]any{"name": "hallmark-dev", "context": map[string]any{"cluster": "hallmark-dev", "user": "hallmark-admin"}}},
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// registerWebhooks registers the gateway's validating and mutating
// admission webhooks for Pods and workload templates in namespaces
// labelled VerifyLabel=enabled, failing closed.
func (s *Stack) registerWebhooks(ctx context.Context, cl *http.Client, server, token string) error {
	ca, err := os.ReadFile(s.TLSRoot)
	if err != nil {
		return err
	}
	for _, kind := range []struct{ resource, kind, path string }{
		{"validatingwebhookconfigurations", "ValidatingWebhookConfiguration", "/admission/validate"},
		{"mutatingwebhookconfigurations", "MutatingWebhookConfiguration", "/admission/mutate"},
	} {
		url := s.Admission + kind.path
		hook := map[string]any{
			"name":                    "verify." + WebhookName,
			"clientConfig":            map[string]any{"url": url, "caBundle": base64.StdEncoding.EncodeToString(ca)},
			"namespaceSelector":       map[string]any{"matchLabels": map[string]string{VerifyLabel: "enabled"}},
			"failurePolicy":           "Fail",
			"sideEffects":             "None",
			"timeoutSeconds":          10,
			"admissionReviewVersions": []string{"v1"},
			"rules": []any{
				map[string]any{"apiGroups": []string{""}, "apiVersions": []string{"v1"}, "operations": []string{"CREATE", "UPDATE"},
					"resources": []string{"pods", "pods/ephemeralcontainers", "replicationcontrollers", "podtemplates"}},
				map[string]any{"apiGroups": []string{"apps"}, "apiVersions": []string{"v1"}, "operations": []string{"CREATE", "UPDATE"},
					"resources": []string{"deployments", "statefulsets", "daemonsets", "replicasets"}},
				map[string]any{"apiGroups": []string{"batch"}, "apiVersions": []string{"v1"}, "operations": []string{"CREATE", "UPDATE"},
					"resources": []string{"jobs", "cronjobs"}},
			},
		}
		if kind.kind == "MutatingWebhookConfiguration" {
			hook["reinvocationPolicy"] = "Never"
		}
		obj := map[string]any{
			"apiVersion": "admissionregistration.k8s.io/v1",
			"kind":       kind.kind,
			"metadata":   map[string]any{"name": WebhookName},
			"webhooks":   []any{hook},
		}
		if err := kubeCall(ctx, cl, token, http.MethodPost, server+"/apis/admissionregistration.k8s.io/v1/"+kind.resource, obj); err != nil {
			return fmt.Errorf("register admission webhook: %w", err)
		}
	}
	return nil
}
