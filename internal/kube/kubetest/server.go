package kubetest

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hallmark-dev/hallmark/internal/kube"
)

// Server is a fake API server in httptest holding Secrets and webhook
// configurations, with resourceVersions, 409 AlreadyExists on a create of
// an existing Secret and 409 Conflict on a stale update or patch. It
// answers only calls with its bearer token.
type Server struct {
	mu         sync.Mutex
	rv         int
	secrets    map[string]*corev1.Secret
	webhooks   map[string]*fakeWebhooks // kind/name
	token      string
	calls      map[string]int // "METHOD kind", e.g. "POST secrets"
	getBarrier *barrier
	srv        *httptest.Server
	// changeAfterRead: webhook configurations that another writer
	// changes right after the next read of them.
	changeAfterRead map[string]bool
}

type fakeWebhooks struct {
	rv        int
	names     []string
	caBundles map[string][]byte
}

type barrier struct {
	mu      sync.Mutex
	n       int
	waiting int
	release chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, release: make(chan struct{})} }

func (b *barrier) wait() {
	b.mu.Lock()
	b.waiting++
	if b.waiting == b.n {
		close(b.release)
	}
	b.mu.Unlock()
	<-b.release
}

// NewServer starts a Server, closed when the test ends, and returns it
// with a client of it.
func NewServer(t testing.TB) (*Server, *kube.Client) {
	t.Helper()
	f := &Server{secrets: map[string]*corev1.Secret{}, webhooks: map[string]*fakeWebhooks{}, token: "s3cr3t-token-value", calls: map[string]int{}}
	f.srv = httptest.NewTLSServer(f)
	t.Cleanup(f.srv.Close)
	c, err := kube.NewWithToken(f.srv.URL, f.token, nil, kube.WithHTTPClient(f.srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

// Kubeconfig writes a kubeconfig of the Server (its URL, CA and token)
// into a temporary directory and returns its path.
func (f *Server) Kubeconfig(t testing.TB) string {
	t.Helper()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: fake
clusters: [{name: fake, cluster: {server: %q, certificate-authority-data: %s}}]
users: [{name: fake, user: {token: %s}}]
contexts: [{name: fake, context: {cluster: fake, user: fake}}]
`, f.srv.URL, base64.StdEncoding.EncodeToString(ca), f.token)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// HoldSecretReads makes every GET of a Secret wait until n have arrived,
// so that n concurrent readers all see the same state.
func (f *Server) HoldSecretReads(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.getBarrier = newBarrier(n)
}

// ChangeAfterNextRead makes another writer change the webhook
// configuration kind/name right after its next read, so that a patch
// carrying the resourceVersion read gets 409 Conflict.
func (f *Server) ChangeAfterNextRead(kind kube.WebhookKind, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.changeAfterRead == nil {
		f.changeAfterRead = map[string]bool{}
	}
	f.changeAfterRead[string(kind)+"/"+name] = true
}

// AddWebhooks adds a webhook configuration of kind with the named
// webhooks, none with a caBundle.
func (f *Server) AddWebhooks(kind kube.WebhookKind, name string, hooks ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rv++
	f.webhooks[string(kind)+"/"+name] = &fakeWebhooks{rv: f.rv, names: hooks, caBundles: map[string][]byte{}}
}

// CABundles returns the caBundle of each webhook of kind/name.
func (f *Server) CABundles(kind kube.WebhookKind, name string) map[string][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range f.webhooks[string(kind)+"/"+name].caBundles {
		out[k] = v
	}
	return out
}

// Secret returns a copy of the Secret ns/name, or nil.
func (f *Server) Secret(ns, name string) *corev1.Secret {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.secrets[ns+"/"+name]; s != nil {
		return s.DeepCopy()
	}
	return nil
}

// Count is how many calls of the kind ("POST secrets", "PUT secrets",
// "PATCH webhooks", …) the Server answered.
func (f *Server) Count(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[call]
}

func status(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: "Failure", Code: int32(code), Reason: reason, Message: msg})
}

func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		status(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized")
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 5 && parts[0] == "api" && parts[2] == "namespaces" && parts[4] == "secrets":
		name := ""
		if len(parts) == 6 {
			name = parts[5]
		}
		f.serveSecret(w, r, parts[3], name)
	case len(parts) == 5 && parts[0] == "apis" && parts[1] == "admissionregistration.k8s.io":
		f.serveWebhooks(w, r, parts[3]+"/"+parts[4])
	default:
		status(w, http.StatusNotFound, metav1.StatusReasonNotFound, "no route "+r.URL.Path)
	}
}

func (f *Server) serveSecret(w http.ResponseWriter, r *http.Request, ns, name string) {
	f.mu.Lock()
	b := f.getBarrier
	f.mu.Unlock()
	if r.Method == http.MethodGet && b != nil {
		b.wait()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[r.Method+" secrets"]++
	switch r.Method {
	case http.MethodGet:
		s := f.secrets[ns+"/"+name]
		if s == nil {
			status(w, http.StatusNotFound, metav1.StatusReasonNotFound, fmt.Sprintf("secrets %q not found", name))
			return
		}
		_ = json.NewEncoder(w).Encode(s)
	case http.MethodPost, http.MethodPut:
		var s corev1.Secret
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
			status(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
			return
		}
		old := f.secrets[ns+"/"+s.Name]
		if r.Method == http.MethodPost && old != nil {
			status(w, http.StatusConflict, metav1.StatusReasonAlreadyExists, fmt.Sprintf("secrets %q already exists", s.Name))
			return
		}
		if r.Method == http.MethodPut && (old == nil || old.ResourceVersion != s.ResourceVersion || s.Name != name) {
			status(w, http.StatusConflict, metav1.StatusReasonConflict, "the object has been modified")
			return
		}
		f.rv++
		s.ResourceVersion = strconv.Itoa(f.rv)
		f.secrets[ns+"/"+s.Name] = &s
		_ = json.NewEncoder(w).Encode(s)
	default:
		status(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, r.Method)
	}
}

func (f *Server) serveWebhooks(w http.ResponseWriter, r *http.Request, key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[r.Method+" webhooks"]++
	wc := f.webhooks[key]
	if wc == nil {
		status(w, http.StatusNotFound, metav1.StatusReasonNotFound, key+" not found")
		return
	}
	type hook struct {
		Name         string `json:"name"`
		ClientConfig struct {
			CABundle []byte `json:"caBundle,omitempty"`
		} `json:"clientConfig"`
	}
	var obj struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
		Webhooks []hook `json:"webhooks"`
	}
	switch r.Method {
	case http.MethodGet:
		obj.Metadata.ResourceVersion = strconv.Itoa(wc.rv)
		for _, n := range wc.names {
			h := hook{Name: n}
			h.ClientConfig.CABundle = wc.caBundles[n]
			obj.Webhooks = append(obj.Webhooks, h)
		}
		_ = json.NewEncoder(w).Encode(obj)
		if f.changeAfterRead[key] {
			delete(f.changeAfterRead, key)
			f.rv++
			wc.rv = f.rv
		}
	case http.MethodPatch:
		if r.Header.Get("Content-Type") != "application/strategic-merge-patch+json" {
			status(w, http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType, r.Header.Get("Content-Type"))
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&obj); err != nil {
			status(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
			return
		}
		if obj.Metadata.ResourceVersion != strconv.Itoa(wc.rv) {
			status(w, http.StatusConflict, metav1.StatusReasonConflict, "the object has been modified")
			return
		}
		for _, h := range obj.Webhooks {
			wc.caBundles[h.Name] = h.ClientConfig.CABundle
		}
		f.rv++
		wc.rv = f.rv
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	default:
		status(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, r.Method)
	}
}
