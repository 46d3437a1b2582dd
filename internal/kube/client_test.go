package kube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// echoServer answers every call with the status code and a body that
// repeats the request's Authorization header, as a careless proxy might;
// it records the tokens it saw.
type echoServer struct {
	code   int
	status bool // answer with a Status object
	mu     sync.Mutex
	seen   []string
}

func (e *echoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.seen = append(e.seen, r.Header.Get("Authorization"))
	e.mu.Unlock()
	msg := "denied for " + r.Header.Get("Authorization")
	if e.code/100 == 2 {
		_ = json.NewEncoder(w).Encode(corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", ResourceVersion: "7"}})
		return
	}
	w.WriteHeader(e.code)
	if e.status {
		_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status"}, Reason: metav1.StatusReasonForbidden, Message: msg})
		return
	}
	_, _ = w.Write([]byte(msg))
}

func TestTokenNeverInErrors(t *testing.T) {
	const token = "eyJhbGciOiJSUzI1NiJ9.very-secret-token"
	for _, tt := range []struct {
		name string
		e    *echoServer
	}{
		{"status object", &echoServer{code: http.StatusForbidden, status: true}},
		{"plain body", &echoServer{code: http.StatusBadGateway}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(tt.e)
			t.Cleanup(srv.Close)
			c, err := NewWithToken(srv.URL, token, nil, WithHTTPClient(srv.Client()))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetSecret(t.Context(), "ns", "s")
			if err == nil {
				t.Fatal("no error")
			}
			if len(tt.e.seen) != 1 || tt.e.seen[0] != "Bearer "+token {
				t.Fatalf("the server saw %q, want the token", tt.e.seen)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(fmt.Sprintf("%+v", err), token) {
				t.Errorf("the error holds the token: %v", err)
			}
			if !strings.Contains(err.Error(), "[redacted]") {
				t.Errorf("the error does not show where the token was: %v", err)
			}
		})
	}
}

func TestStatusErrors(t *testing.T) {
	for _, tt := range []struct {
		code                        int
		reason                      metav1.StatusReason
		notFound, exists, conflicts bool
	}{
		{http.StatusNotFound, metav1.StatusReasonNotFound, true, false, false},
		{http.StatusConflict, metav1.StatusReasonAlreadyExists, false, true, false},
		{http.StatusConflict, metav1.StatusReasonConflict, false, false, true},
		{http.StatusForbidden, metav1.StatusReasonForbidden, false, false, false},
	} {
		t.Run(string(tt.reason), func(t *testing.T) {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.code)
				_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status"}, Reason: tt.reason, Message: "m"})
			}))
			t.Cleanup(srv.Close)
			c, err := NewWithToken(srv.URL, "t", nil, WithHTTPClient(srv.Client()))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.CreateSecret(t.Context(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s"}})
			if IsNotFound(err) != tt.notFound || IsAlreadyExists(err) != tt.exists || IsConflict(err) != tt.conflicts {
				t.Errorf("%v: IsNotFound %v, IsAlreadyExists %v, IsConflict %v", err, IsNotFound(err), IsAlreadyExists(err), IsConflict(err))
			}
		})
	}
}

// TestInClusterRereadsToken: the in-cluster client reads the CA, the
// namespace and, before every call, the token file the kubelet rotates.
func TestInClusterRereadsToken(t *testing.T) {
	e := &echoServer{code: http.StatusOK}
	srv := httptest.NewTLSServer(e)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	write("namespace", "hallmark-system\n")
	write("token", "first\n")
	host, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "https://"), ":")
	if _, err := newInCluster("", port, dir, nil); err == nil {
		t.Error("no KUBERNETES_SERVICE_HOST was accepted")
	}
	c, err := newInCluster(host, port, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Namespace() != "hallmark-system" {
		t.Errorf("namespace %q", c.Namespace())
	}
	ctx := context.Background()
	if _, err := c.GetSecret(ctx, "hallmark-system", "s"); err != nil {
		t.Fatal(err) // also proves the CA file is trusted
	}
	write("token", "second\n")
	s, err := c.GetSecret(ctx, "hallmark-system", "s")
	if err != nil {
		t.Fatal(err)
	}
	if s.ResourceVersion != "7" {
		t.Errorf("decoded %+v", s.ObjectMeta)
	}
	if len(e.seen) != 2 || e.seen[0] != "Bearer first" || e.seen[1] != "Bearer second" {
		t.Errorf("tokens sent: %q, want first then second", e.seen)
	}
	if err := os.Remove(filepath.Join(dir, "token")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSecret(ctx, "hallmark-system", "s"); err == nil || !strings.Contains(err.Error(), "read token file") {
		t.Errorf("a missing token file: %v", err)
	}
}

func TestKubeconfig(t *testing.T) {
	e := &echoServer{code: http.StatusOK}
	srv := httptest.NewTLSServer(e)
	t.Cleanup(srv.Close)
	ca := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tok"), []byte("from-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, user, want, err string
	}{
		{"inline token", "token: inline", "Bearer inline", ""},
		{"token file relative to the kubeconfig", "tokenFile: tok", "Bearer from-file", ""},
		{"no such user", "", "", `no user "u"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			users := fmt.Sprintf("users:\n- name: u\n  user: {%s}\n", tt.user)
			if tt.user == "" {
				users = "users: []\n"
			}
			kc := fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: c
  cluster: {server: %q, certificate-authority-data: %s}
contexts:
- name: dev
  context: {cluster: c, user: u, namespace: ns}
%s`, srv.URL, ca, users)
			path := filepath.Join(dir, "kubeconfig")
			if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := NewFromKubeconfig(path)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("NewFromKubeconfig = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			e.seen = nil
			if _, err := c.GetSecret(t.Context(), "ns", "s"); err != nil {
				t.Fatal(err)
			}
			if len(e.seen) != 1 || e.seen[0] != tt.want || c.Namespace() != "ns" {
				t.Errorf("sent %q, namespace %q; want %q, ns", e.seen, c.Namespace(), tt.want)
			}
		})
	}
}
