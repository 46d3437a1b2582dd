package admission

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	hallmark "github.com/hallmark-dev/hallmark"
)

// BenchmarkValidate is the webhook's own cost for a Pod with ten
// containers, ten distinct images, every hygiene rule on, with a verifier
// that answers at once (as the verdict cache does).
func BenchmarkValidate(b *testing.B) {
	var cs []corev1.Container
	for i := range 10 {
		cs = append(cs, goodContainer(fmt.Sprint("c", i), fmt.Sprintf("registry.example/app%d@%s", i, hallmark.SHA256([]byte(fmt.Sprint(i))))))
	}
	raw, err := json.Marshal(newPod(podSpec(cs...)))
	if err != nil {
		b.Fatal(err)
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "bench", Kind: podKind, Namespace: "team", Name: "app",
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}},
	})
	if err != nil {
		b.Fatal(err)
	}
	w, err := New(&fakeVerifier{}, newPolicy())
	if err != nil {
		b.Fatal(err)
	}
	h := w.Validate()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequestWithContext(b.Context(), http.MethodPost, "/admission/validate", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"allowed":true`)) {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
