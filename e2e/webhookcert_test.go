//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/kube"
	"github.com/hallmark-dev/hallmark/verify/admission/webhookcert"
)

const (
	certNS      = "hallmark-webhookcert-e2e"
	certSecret  = "hallmark-webhook-certs"
	certService = "hallmarkd-webhook"
	certHooks   = "hallmark-webhookcert-e2e"
)

// fakeClock is the time of the managers and of the TLS client, so the
// test steps through a CA's year in seconds.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// webhookConfigYAML is a configuration of kind with two webhooks on the
// Service certService that match no namespace (nothing else in the stack
// is ever sent to them) and start without a caBundle.
func webhookConfigYAML(kind, path string) string {
	hook := func(name string) string {
		return fmt.Sprintf(`  - name: %s
    admissionReviewVersions: ["v1"]
    sideEffects: None
    failurePolicy: Ignore
    namespaceSelector: {matchLabels: {hallmark.dev/webhookcert-e2e: never}}
    clientConfig:
      service: {namespace: %s, name: %s, path: %s, port: 443}
    rules:
      - {apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], operations: ["CREATE"]}
`, name, certNS, certService, path)
	}
	return fmt.Sprintf("apiVersion: admissionregistration.k8s.io/v1\nkind: %s\nmetadata: {name: %s}\nwebhooks:\n%s%s",
		kind, certHooks, hook("verify.hallmark.dev"), hook("pin.hallmark.dev"))
}

// certRBAC is deploy/base/rbac.yaml for this test's namespace, Secret and
// webhook configurations: the managers run with exactly the rights the
// deployment grants.
func certRBAC(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(env.repo, "deploy", "base", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, r := range [][2]string{
		{"namespace: hallmark-system", "namespace: " + certNS},
		{`resourceNames: ["hallmark"]`, `resourceNames: ["` + certHooks + `"]`},
		{"name: hallmarkd-webhook-ca-bundle", "name: hallmarkd-webhook-ca-bundle-e2e"},
	} {
		if !strings.Contains(s, r[0]) {
			t.Fatalf("deploy/base/rbac.yaml has no %q", r[0])
		}
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	if !strings.Contains(s, `resourceNames: ["`+certSecret+`"]`) {
		t.Fatalf("deploy/base/rbac.yaml does not grant the Secret %s", certSecret)
	}
	return s
}

// serviceAccountClient returns a client with the token of the
// ServiceAccount hallmarkd of certNS, through a kubeconfig like the
// stack's.
func serviceAccountClient(t *testing.T) *kube.Client {
	t.Helper()
	tok, err := kubectl(t, "", "-n", certNS, "create", "token", "hallmarkd", "--duration", "1h")
	if err != nil {
		t.Fatalf("kubectl create token: %v\n%s", err, tok)
	}
	data, err := os.ReadFile(env.stack.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	var kc map[string]any
	if err := json.Unmarshal(data, &kc); err != nil {
		t.Fatal(err)
	}
	kc["users"] = []any{map[string]any{"name": "hallmark-admin", "user": map[string]any{"token": strings.TrimSpace(tok)}}}
	data, err = json.Marshal(kc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := kube.NewFromKubeconfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// clusterState is what the API server holds, read with kubectl: the
// Secret's data and the caBundle of every webhook of both configurations.
type clusterState struct {
	caCrt, tlsCrt []byte
	caBundles     map[string][]byte // "kind/webhook"
}

func readClusterState(t *testing.T) clusterState {
	t.Helper()
	out, err := kubectl(t, "", "-n", certNS, "get", "secret", certSecret, "-o", "json")
	if err != nil {
		t.Fatalf("get secret: %v\n%s", err, out)
	}
	var s struct {
		Type string            `json:"type"`
		Data map[string][]byte `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.Type != "kubernetes.io/tls" {
		t.Errorf("secret type %q, want kubernetes.io/tls", s.Type)
	}
	st := clusterState{caCrt: s.Data["ca.crt"], tlsCrt: s.Data["tls.crt"], caBundles: map[string][]byte{}}
	for _, kind := range []string{"validatingwebhookconfiguration", "mutatingwebhookconfiguration"} {
		out, err := kubectl(t, "", "get", kind, certHooks, "-o", "json")
		if err != nil {
			t.Fatalf("get %s: %v\n%s", kind, err, out)
		}
		var wc struct {
			Webhooks []struct {
				Name         string `json:"name"`
				ClientConfig struct {
					CABundle []byte `json:"caBundle"`
				} `json:"clientConfig"`
			} `json:"webhooks"`
		}
		if err := json.Unmarshal([]byte(out), &wc); err != nil {
			t.Fatal(err)
		}
		for _, w := range wc.Webhooks {
			st.caBundles[kind+"/"+w.Name] = w.ClientConfig.CABundle
		}
	}
	return st
}

// checkCertState fails unless both managers serve the Secret's
// certificate and every webhook of both configurations has the Secret's
// CA as caBundle; it returns how many CAs that is.
func checkCertState(t *testing.T, step string, ms ...*webhookcert.Manager) int {
	t.Helper()
	st := readClusterState(t)
	if len(st.caCrt) == 0 || len(st.tlsCrt) == 0 {
		t.Fatalf("%s: the secret has no ca.crt or tls.crt", step)
	}
	if len(st.caBundles) != 4 {
		t.Errorf("%s: %d webhooks, want 4", step, len(st.caBundles))
	}
	for name, ca := range st.caBundles {
		if !bytes.Equal(ca, st.caCrt) {
			t.Errorf("%s: the caBundle of %s is not the secret's ca.crt", step, name)
		}
	}
	for i, m := range ms {
		c, err := m.GetCertificate(nil)
		if err != nil {
			t.Fatalf("%s: manager %d: %v", step, i, err)
		}
		if !bytes.Equal(st.tlsCrt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})) {
			t.Errorf("%s: manager %d serves another certificate than the secret's tls.crt", step, i)
		}
	}
	return strings.Count(string(st.caCrt), "BEGIN CERTIFICATE")
}

// TestWebhookCertificates runs two certificate managers, as two replicas
// would, against the stack's real kube-apiserver with exactly the rights
// of deploy/base/rbac.yaml: they create one Secret between them, serve the
// same certificate, and publish its CA into every webhook of a validating
// and a mutating configuration. Then, stepping a shared clock, they renew
// the serving certificate and rotate the CA in its three steps, while a
// TLS client that trusts only what the caBundle holds keeps connecting to
// both, never failing, and sees the served certificate change.
func TestWebhookCertificates(t *testing.T) {
	ns := fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: hallmarkd, namespace: %s}\n", certNS, certNS)
	if out, err := kubectl(t, ns, "apply", "--server-side", "-f", "-"); err != nil {
		t.Fatalf("create namespace and service account: %v\n%s", err, out)
	}
	objs := webhookConfigYAML("ValidatingWebhookConfiguration", "/admission/validate") + "---\n" +
		webhookConfigYAML("MutatingWebhookConfiguration", "/admission/mutate") + "---\n" + certRBAC(t)
	if out, err := kubectl(t, objs, "apply", "--server-side", "-f", "-"); err != nil {
		t.Fatalf("create webhook configurations and RBAC: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_, _ = kubectl(t, objs, "delete", "--ignore-not-found", "-f", "-")
		// No namespace controller runs here: it stays Terminating, harmless.
		_, _ = kubectl(t, "", "delete", "namespace", certNS, "--wait=false")
	})
	sa := serviceAccountClient(t)
	// Least privilege holds: another Secret of the namespace is refused.
	if _, err := sa.GetSecret(t.Context(), certNS, "another-secret"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("reading another Secret with the gateway's rights: %v, want 403 Forbidden", err)
	}

	clk := &fakeClock{now: time.Now()}
	newManager := func(name string) *webhookcert.Manager {
		m, err := webhookcert.New(sa, certNS, certSecret, certService,
			webhookcert.WithClock(clk.Now),
			webhookcert.WithValidatingWebhookConfigurations(certHooks),
			webhookcert.WithMutatingWebhookConfigurations(certHooks),
			webhookcert.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil)).With("replica", name)))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := newManager("a"), newManager("b")
	syncBoth := func(step string) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, m := range []*webhookcert.Manager{a, b} {
			wg.Go(func() { errs[i] = m.Sync(t.Context()) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	syncBoth("first sync")
	if n := checkCertState(t, "first sync", a, b); n != 1 {
		t.Errorf("first sync: %d CAs, want 1", n)
	}

	// Two webhook servers, one per manager, and a client that keeps
	// connecting to both, trusting what the caBundle holds at the moment.
	var servers []*httptest.Server
	for _, m := range []*webhookcert.Manager{a, b} {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
		srv.TLS = &tls.Config{GetCertificate: m.GetCertificate, MinVersion: tls.VersionTLS12}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		servers = append(servers, srv)
	}
	admin, err := kube.NewFromKubeconfig(env.stack.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu        sync.Mutex
		connects  int
		failures  []string
		serials   = map[string]bool{}
		clientCtx context.Context
		stop      context.CancelFunc
	)
	clientCtx, stop = context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for clientCtx.Err() == nil {
			wc, err := admin.GetWebhookCABundles(clientCtx, kube.Validating, certHooks)
			if err != nil {
				if clientCtx.Err() == nil {
					mu.Lock()
					failures = append(failures, "read caBundle: "+err.Error())
					mu.Unlock()
				}
				return
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(wc.CABundles["verify.hallmark.dev"])
			for i, srv := range servers {
				conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{RootCAs: pool, ServerName: a.DNSNames()[0], Time: clk.Now, MinVersion: tls.VersionTLS12})
				mu.Lock()
				if err != nil {
					failures = append(failures, fmt.Sprintf("server %d: %v", i, err))
				} else {
					connects++
					serials[conn.ConnectionState().PeerCertificates[0].SerialNumber.String()] = true
					conn.Close()
				}
				mu.Unlock()
			}
		}
	}()
	// waitConnects returns once the client has connected n more times.
	waitConnects := func(n int) {
		t.Helper()
		mu.Lock()
		target := connects + n
		mu.Unlock()
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			c := connects
			mu.Unlock()
			if c >= target {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the TLS client made %d of %d connections in 30s", c, target)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	served := func() string {
		c, err := a.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return string(c.Certificate[0])
	}
	waitConnects(4)
	first := served()

	steps := []struct {
		name    string
		advance time.Duration
		cas     int
		changed bool // the served certificate changes
	}{
		{"serving certificate renewed (day 61)", 61 * 24 * time.Hour, 1, true},
		{"renewed again (day 122)", 61 * 24 * time.Hour, 1, true},
		{"renewed again (day 183)", 61 * 24 * time.Hour, 1, true},
		{"a new CA joins the caBundle (day 244)", 61 * 24 * time.Hour, 2, false},
		{"the new CA signs the serving certificate (2h later)", 2 * time.Hour, 2, true},
		{"the old CA leaves the caBundle (2h later)", 2 * time.Hour, 1, false},
	}
	prev := first
	for _, s := range steps {
		clk.Advance(s.advance)
		syncBoth(s.name)
		if n := checkCertState(t, s.name, a, b); n != s.cas {
			t.Errorf("%s: %d CAs in the caBundle, want %d", s.name, n, s.cas)
		}
		if cur := served(); (cur != prev) != s.changed {
			t.Errorf("%s: the served certificate changed %v, want %v", s.name, cur != prev, s.changed)
		} else {
			prev = cur
		}
		waitConnects(4)
	}
	stop()
	<-done
	mu.Lock()
	defer mu.Unlock()
	t.Logf("the TLS client connected %d times, saw %d certificates, failed %d times", connects, len(serials), len(failures))
	for _, f := range failures {
		t.Errorf("the TLS client failed: %s", f)
	}
	if len(serials) < 5 {
		t.Errorf("the TLS client saw %d certificates, want at least 5 (the first and four renewals)", len(serials))
	}
}
