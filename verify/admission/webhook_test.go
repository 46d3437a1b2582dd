package admission

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hallmark-dev/hallmark"
)

func TestNew(t *testing.T) {
	v, p := &fakeVerifier{}, newPolicy()
	bad := newPolicy()
	bad.mode = "audit"
	tests := []struct {
		name string
		v    ImageVerifier
		p    Policy
		opts []Option
	}{
		{"nil verifier", nil, p, nil},
		{"nil policy", v, nil, nil},
		{"unknown mode", v, bad, nil},
		{"nil logger", v, p, []Option{WithLogger(nil)}},
		{"zero timeout", v, p, []Option{WithTimeout(0)}},
		{"zero body", v, p, []Option{WithMaxBodyBytes(0)}},
		{"zero parallelism", v, p, []Option{WithParallelism(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.v, tt.p, tt.opts...); !errors.Is(err, hallmark.ErrInvalid) {
				t.Fatalf("New: %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := New(v, p, WithLogger(slog.New(slog.DiscardHandler)), WithTimeout(1), WithMaxBodyBytes(1), WithParallelism(1)); err != nil {
		t.Fatalf("New with options: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := reviewBody(t, request(t, podKind, newPod(podSpec(goodContainer("app", "reg/app:v1")))))
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		code        int
		want        string
	}{
		{"GET", http.MethodGet, "application/json", "", http.StatusMethodNotAllowed, "use POST"},
		{"PUT", http.MethodPut, "application/json", string(good), http.StatusMethodNotAllowed, "use POST"},
		{"text", http.MethodPost, "text/plain", string(good), http.StatusUnsupportedMediaType, "application/json"},
		{"no content type", http.MethodPost, "", string(good), http.StatusUnsupportedMediaType, "application/json"},
		{"oversized", http.MethodPost, "application/json", string(good) + strings.Repeat(" ", 4096), http.StatusRequestEntityTooLarge, "larger than"},
		{"empty", http.MethodPost, "application/json", "", http.StatusBadRequest, "empty"},
		{"malformed", http.MethodPost, "application/json", `{"apiVersion":`, http.StatusBadRequest, "decode AdmissionReview"},
		{"not an object", http.MethodPost, "application/json", `[1,2]`, http.StatusBadRequest, "decode AdmissionReview"},
		{"trailing garbage", http.MethodPost, "application/json", string(good) + "}", http.StatusBadRequest, "decode AdmissionReview"},
		{"v1beta1", http.MethodPost, "application/json", strings.Replace(string(good), "admission.k8s.io/v1", "admission.k8s.io/v1beta1", 1), http.StatusBadRequest, `unsupported review "admission.k8s.io/v1beta1"`},
		{"wrong kind", http.MethodPost, "application/json", strings.Replace(string(good), `"kind":"AdmissionReview"`, `"kind":"Pod"`, 1), http.StatusBadRequest, "want apiVersion admission.k8s.io/v1, kind AdmissionReview"},
		{"no type", http.MethodPost, "application/json", `{"request":{"uid":"x"}}`, http.StatusBadRequest, "unsupported review"},
		{"no request", http.MethodPost, "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, http.StatusBadRequest, "has no request"},
		{"no uid", http.MethodPost, "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}`, http.StatusBadRequest, "has no uid"},
		// A parser differential is a way around a policy: names appear once
		// and match exactly, as in the API server's own decoder.
		{"duplicate name", http.MethodPost, "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"a","uid":"b"}}`, http.StatusBadRequest, "duplicate"},
		{"name in another case", http.MethodPost, "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","Request":{"uid":"a"}}`, http.StatusBadRequest, "has no request"},
		{"invalid UTF-8", http.MethodPost, "application/json", strings.Replace(string(good), `"app"`, "\"a\xffp\"", 1), http.StatusBadRequest, "UTF-8"},
		{"uid not a string", http.MethodPost, "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7}}`, http.StatusBadRequest, "decode AdmissionReview"},
	}
	f := &fakeVerifier{}
	h := newWebhook(t, f, newPolicy(), WithMaxBodyBytes(int64(len(good)+100))).Validate()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), tt.method, "/admission/validate", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.want) {
				t.Fatalf("got %d %q, want %d containing %q", rec.Code, rec.Body, tt.code, tt.want)
			}
		})
	}
	if n := len(f.callCount()); n != 0 {
		t.Errorf("verifier called for bad requests: %v", f.callCount())
	}
	t.Run("charset parameter", func(t *testing.T) {
		r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", bytes.NewReader(good))
		r.Header.Set("Content-Type", "application/json; charset=utf-8")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("got %d %q", rec.Code, rec.Body)
		}
	})
}

func TestUIDEcho(t *testing.T) {
	h := newWebhook(t, &fakeVerifier{}, newPolicy()).Validate()
	for _, uid := range []string{"a", "705ab4f5-6393-11e8-b7cc-42010a800002", "ünïcødé"} {
		t.Run(uid, func(t *testing.T) {
			for _, op := range []admissionv1.Operation{admissionv1.Create, admissionv1.Delete} {
				req := request(t, podKind, newPod(podSpec(goodContainer("app", "reg/app:v1"))), func(r *admissionv1.AdmissionRequest) {
					r.UID, r.Operation = types.UID(uid), op
				})
				admit(t, h, req) // checks the uid
			}
		})
	}
}

func TestOperationsAndKinds(t *testing.T) {
	good := newPod(podSpec(goodContainer("app", "reg/app:v1")))
	tests := []struct {
		name    string
		req     func(t *testing.T) *admissionv1.AdmissionRequest
		allowed bool
		code    int32
		want    string
		calls   int
	}{
		{"create", func(t *testing.T) *admissionv1.AdmissionRequest { return request(t, podKind, good) }, true, 0, "", 1},
		{"dry run", func(t *testing.T) *admissionv1.AdmissionRequest {
			return request(t, podKind, newPod(podSpec(corev1.Container{Name: "app", Image: "reg/app:v1"})), func(r *admissionv1.AdmissionRequest) { r.DryRun = ptr(true) })
		}, false, 403, `container "app": rule "noPrivilegeEscalation"`, 1},
		{"delete", func(t *testing.T) *admissionv1.AdmissionRequest {
			return request(t, podKind, nil, func(r *admissionv1.AdmissionRequest) {
				r.Operation, r.OldObject = admissionv1.Delete, runtime.RawExtension{Raw: []byte(`{"spec":"garbage"}`)}
			})
		}, true, 0, "", 0},
		{"connect", func(t *testing.T) *admissionv1.AdmissionRequest {
			return request(t, podKind, map[string]any{"kind": "PodExecOptions"}, func(r *admissionv1.AdmissionRequest) {
				r.Operation, r.SubResource = admissionv1.Connect, "exec"
			})
		}, true, 0, "", 0},
		{"unknown kind", func(t *testing.T) *admissionv1.AdmissionRequest {
			return request(t, metav1.GroupVersionKind{Version: "v1", Kind: "Service"}, map[string]any{"spec": "whatever"})
		}, true, 0, "", 0},
		{"other version", func(t *testing.T) *admissionv1.AdmissionRequest {
			return request(t, metav1.GroupVersionKind{Group: "apps", Version: "v1beta2", Kind: "Deployment"}, map[string]any{})
		}, true, 0, "", 0},
		{"status subresource", func(t *testing.T) *admissionv1.AdmissionRequest {
			return request(t, podKind, newPod(podSpec(corev1.Container{Name: "app", Image: "bad"})), func(r *admissionv1.AdmissionRequest) {
				r.Operation, r.SubResource = admissionv1.Update, "status"
			})
		}, true, 0, "", 0},
		{"no object", func(t *testing.T) *admissionv1.AdmissionRequest { return request(t, podKind, nil) }, false, 400, "malformed object: request has no object", 0},
		{"null object", func(t *testing.T) *admissionv1.AdmissionRequest {
			return request(t, podKind, nil, func(r *admissionv1.AdmissionRequest) { r.Object.Raw = []byte("null") })
		}, false, 400, "request has no object", 0},
		{"malformed object", func(t *testing.T) *admissionv1.AdmissionRequest {
			return request(t, podKind, map[string]any{"spec": "garbage"})
		}, false, 400, "malformed object: decode Pod: json: ", 0}, // then "cannot" or "unable to": go-json-experiment picks one per process
		{"malformed container", func(t *testing.T) *admissionv1.AdmissionRequest {
			return request(t, deploymentKind, map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{7}}}}})
		}, false, 400, "malformed object: decode Deployment", 0},
		{"array object", func(t *testing.T) *admissionv1.AdmissionRequest { return request(t, podKind, []int{1}) }, false, 400, "malformed object", 0},
		{"kind mismatch", func(t *testing.T) *admissionv1.AdmissionRequest {
			return request(t, deploymentKind, good)
		}, false, 400, `object is "v1" "Pod" but the request says "apps/v1" "Deployment"`, 0},
		{"no containers", func(t *testing.T) *admissionv1.AdmissionRequest {
			return request(t, podKind, map[string]any{"metadata": map[string]any{"name": "x"}})
		}, false, 400, "Pod has no containers", 0},
		{"no image", func(t *testing.T) *admissionv1.AdmissionRequest {
			return request(t, podKind, newPod(podSpec(goodContainer("app", ""))))
		}, false, 403, `container "app": has no image`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeVerifier{}
			resp := admit(t, newWebhook(t, f, newPolicy()).Validate(), tt.req(t))
			if resp.Allowed != tt.allowed {
				t.Fatalf("allowed %v, want %v: %q", resp.Allowed, tt.allowed, msg(resp))
			}
			if !tt.allowed && (resp.Result == nil || resp.Result.Code != tt.code || !strings.Contains(resp.Result.Message, tt.want)) {
				t.Fatalf("result %+v, want code %d message containing %q", resp.Result, tt.code, tt.want)
			}
			calls := 0
			for _, n := range f.callCount() {
				calls += n
			}
			if calls != tt.calls {
				t.Errorf("verifier calls %d, want %d", calls, tt.calls)
			}
		})
	}
}

func TestLogNeverHasEnvValues(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	c := goodContainer("app", "reg/app:v1")
	c.Env = []corev1.EnvVar{{Name: "DB_PASSWORD", Value: "hunter2-very-secret"}, {Name: "GH", Value: "ghp_" + strings.Repeat("a", 36)}}
	h := newWebhook(t, &fakeVerifier{}, newPolicy(), WithLogger(log)).Validate()
	resp := admit(t, h, request(t, podKind, newPod(podSpec(c))))
	out := buf.String() + msg(resp)
	for _, secret := range []string{"hunter2", "ghp_"} {
		if strings.Contains(out, secret) {
			t.Fatalf("secret %q leaked: %s", secret, out)
		}
	}
	for _, want := range []string{`"uid":"705ab4f5`, `"kind":"Pod"`, `"namespace":"team"`, `"images":["reg/app:v1"]`, `"allowed":false`, `"duration"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %s: %s", want, buf.String())
		}
	}
}
