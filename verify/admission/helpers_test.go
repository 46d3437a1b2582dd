package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// fakePolicy is a Policy with every hygiene rule on unless disabled.
type fakePolicy struct {
	name     string
	mode     string
	disabled map[string]bool
	caps     []string
	// podRules, if set, makes HasPodRules true and answers EvaluatePod.
	podRules func(in policy.Input) []policy.RuleResult
}

var (
	_ Policy = (*fakePolicy)(nil)
	_ Policy = (*policy.Policy)(nil)
)

func (p *fakePolicy) Name() string                    { return p.name }
func (p *fakePolicy) Mode() string                    { return p.mode }
func (p *fakePolicy) HygieneEnabled(rule string) bool { return !p.disabled[rule] }
func (p *fakePolicy) AllowedCapabilities() []string   { return p.caps }
func (p *fakePolicy) HasPodRules() bool               { return p.podRules != nil }
func (p *fakePolicy) EvaluatePod(_ context.Context, in policy.Input) []policy.RuleResult {
	return p.podRules(in)
}

func newPolicy() *fakePolicy { return &fakePolicy{name: "gateway-built", mode: policy.ModeEnforce} }

// noHygiene disables every hygiene rule.
func noHygiene(p *fakePolicy) *fakePolicy {
	p.disabled = map[string]bool{}
	for _, r := range policy.HygieneRules {
		p.disabled[r] = true
	}
	return p
}

// fakeVerifier counts calls per reference and answers with verify, or
// allows every image (running as a non-root user) by default.
type fakeVerifier struct {
	mu     sync.Mutex
	calls  map[string]int
	verify func(ctx context.Context, ref string) (*verify.Verdict, error)
}

var _ ImageVerifier = (*fakeVerifier)(nil)

func (f *fakeVerifier) Verify(ctx context.Context, ref string) (*verify.Verdict, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[ref]++
	f.mu.Unlock()
	if f.verify != nil {
		return f.verify(ctx, ref)
	}
	return allowed(ref, "65532"), nil
}

func (f *fakeVerifier) callCount() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.calls {
		out[k] = v
	}
	return out
}

// allowed is an allowing verdict for ref, whose image runs as user.
func allowed(ref, user string) *verify.Verdict {
	d := hallmark.SHA256([]byte(ref))
	repo := ref
	if i := strings.LastIndexAny(ref, ":@"); i > strings.LastIndex(ref, "/") {
		repo = ref[:i]
	}
	return &verify.Verdict{
		Ref: ref, Digest: d, Pinned: repo + "@" + d.String(), Policy: "gateway-built", Allowed: true,
		Input: policy.Input{Image: policy.Image{Ref: ref, Digest: d.String(), Config: map[string]any{
			"config": map[string]any{"User": user},
		}}},
	}
}

func newWebhook(t *testing.T, v ImageVerifier, p Policy, opts ...Option) *Webhook {
	t.Helper()
	w, err := New(v, p, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return w
}

func ptr[T any](v T) *T { return &v }

// goodContainer passes every hygiene rule.
func goodContainer(name, image string) corev1.Container {
	return corev1.Container{Name: name, Image: image, SecurityContext: &corev1.SecurityContext{
		RunAsNonRoot:             ptr(true),
		AllowPrivilegeEscalation: ptr(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		ReadOnlyRootFilesystem:   ptr(true),
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}}
}

func podSpec(cs ...corev1.Container) corev1.PodSpec { return corev1.PodSpec{Containers: cs} }

func newPod(spec corev1.PodSpec) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "team", Labels: map[string]string{"app": "web"}},
		Spec:       spec,
	}
}

var (
	podKind        = metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	deploymentKind = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	cronJobKind    = metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}
)

// workload wraps spec in an object of kind, with the kind's TypeMeta.
func workload(kind metav1.GroupVersionKind, spec corev1.PodSpec) any {
	tm := metav1.TypeMeta{APIVersion: (&metav1.GroupVersion{Group: kind.Group, Version: kind.Version}).String(), Kind: kind.Kind}
	om := metav1.ObjectMeta{Name: "app", Namespace: "team"}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: spec}
	switch kind.Kind {
	case "Pod":
		return newPod(spec)
	case "Deployment":
		return &appsv1.Deployment{TypeMeta: tm, ObjectMeta: om, Spec: appsv1.DeploymentSpec{Template: tmpl}}
	case "StatefulSet":
		return &appsv1.StatefulSet{TypeMeta: tm, ObjectMeta: om, Spec: appsv1.StatefulSetSpec{Template: tmpl}}
	case "DaemonSet":
		return &appsv1.DaemonSet{TypeMeta: tm, ObjectMeta: om, Spec: appsv1.DaemonSetSpec{Template: tmpl}}
	case "ReplicaSet":
		return &appsv1.ReplicaSet{TypeMeta: tm, ObjectMeta: om, Spec: appsv1.ReplicaSetSpec{Template: tmpl}}
	case "ReplicationController":
		return &corev1.ReplicationController{TypeMeta: tm, ObjectMeta: om, Spec: corev1.ReplicationControllerSpec{Template: &tmpl}}
	case "PodTemplate":
		return &corev1.PodTemplate{TypeMeta: tm, ObjectMeta: om, Template: tmpl}
	case "Job":
		return &batchv1.Job{TypeMeta: tm, ObjectMeta: om, Spec: batchv1.JobSpec{Template: tmpl}}
	case "CronJob":
		return &batchv1.CronJob{TypeMeta: tm, ObjectMeta: om, Spec: batchv1.CronJobSpec{
			Schedule: "@hourly", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}},
		}}
	}
	return nil
}

// request is an AdmissionRequest for obj; edits adjust it.
func request(t *testing.T, kind metav1.GroupVersionKind, obj any, edits ...func(*admissionv1.AdmissionRequest)) *admissionv1.AdmissionRequest {
	t.Helper()
	req := &admissionv1.AdmissionRequest{
		UID: "705ab4f5-6393-11e8-b7cc-42010a800002", Kind: kind,
		Namespace: "team", Name: "app", Operation: admissionv1.Create,
	}
	if obj != nil {
		raw, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		req.Object = runtime.RawExtension{Raw: raw}
	}
	for _, e := range edits {
		e(req)
	}
	return req
}

// reviewBody encodes req as an AdmissionReview v1.
func reviewBody(t *testing.T, req *admissionv1.AdmissionRequest) []byte {
	t.Helper()
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  req,
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// post sends body to h as the API server does.
func post(t *testing.T, h http.Handler, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/admission/validate?timeout=10s", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// admit posts req to h and returns the decoded response, checking the
// envelope and the uid.
func admit(t *testing.T, h http.Handler, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	t.Helper()
	rec := post(t, h, reviewBody(t, req))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil {
		t.Fatalf("response is not an AdmissionReview v1 with a response: %s", rec.Body)
	}
	if out.Response.UID != req.UID {
		t.Fatalf("response uid %q, want %q", out.Response.UID, req.UID)
	}
	return out.Response
}

// msg is the status message of a response, "" if none.
func msg(resp *admissionv1.AdmissionResponse) string {
	if resp.Result == nil {
		return ""
	}
	return resp.Result.Message
}
