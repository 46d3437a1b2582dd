package webhookcert

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hallmark-dev/hallmark/internal/kube"
)

// fakeAPI is an API server in httptest holding Secrets and webhook
// configurations, with resourceVersions, 409 AlreadyExists on a create of
// an existing Secret and 409 Conflict on a stale update or patch.
type fakeAPI struct {
	mu       sync.Mutex
	rv       int
	secrets  map[string]*corev1.Secret
	webhooks map[string]*fakeWebhooks // kind/name
	token    string
	calls    map[string]int // "METHOD kind", e.g. "POST secrets"
	// getBarrier, when set, holds every GET of a Secret until that many
	// have arrived: concurrent managers all see the same state.
	getBarrier *barrier
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

func newFakeAPI(t *testing.T) (*fakeAPI, *kube.Client) {
	t.Helper()
	f := &fakeAPI{secrets: map[string]*corev1.Secret{}, webhooks: map[string]*fakeWebhooks{}, token: "s3cr3t-token-value", calls: map[string]int{}}
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	c, err := kube.NewWithToken(srv.URL, f.token, nil, kube.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func (f *fakeAPI) addWebhooks(kind kube.WebhookKind, name string, hooks ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rv++
	f.webhooks[string(kind)+"/"+name] = &fakeWebhooks{rv: f.rv, names: hooks, caBundles: map[string][]byte{}}
}

func (f *fakeAPI) caBundles(kind kube.WebhookKind, name string) map[string][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range f.webhooks[string(kind)+"/"+name].caBundles {
		out[k] = v
	}
	return out
}

func (f *fakeAPI) secret(ns, name string) *corev1.Secret {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.secrets[ns+"/"+name]; s != nil {
		return s.DeepCopy()
	}
	return nil
}

func (f *fakeAPI) count(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[call]
}

func status(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: "Failure", Code: int32(code), Reason: reason, Message: msg})
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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

func (f *fakeAPI) serveSecret(w http.ResponseWriter, r *http.Request, ns, name string) {
	if r.Method == http.MethodGet && f.getBarrier != nil {
		f.getBarrier.wait()
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

func (f *fakeAPI) serveWebhooks(w http.ResponseWriter, r *http.Request, key string) {
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
