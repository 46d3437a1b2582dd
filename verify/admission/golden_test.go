package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/golden"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// goldenVerifier denies reg/unsigned, cannot reach reg/offline and allows
// everything else.
func goldenVerifier() *fakeVerifier {
	return &fakeVerifier{verify: func(_ context.Context, ref string) (*verify.Verdict, error) {
		v := allowed(ref, "65532")
		switch ref {
		case "reg.example/unsigned:v1":
			v.Allowed = false
			v.Rules = []policy.RuleResult{
				{Name: "signers", Message: "no attestation signed by an allowed identity"},
				{Name: "builders", Message: `builder "https://ci.example/evil" is not allowed`},
			}
		case "reg.example/offline:v1":
			return nil, fmt.Errorf("resolve %s: %w: connection refused", ref, hallmark.ErrUnavailable)
		}
		return v, nil
	}}
}

// goldenCases are full AdmissionReview exchanges.
func goldenCases(t *testing.T) []struct {
	name   string
	mode   string
	mutate bool
	req    *admissionv1.AdmissionRequest
} {
	good := podSpec(goodContainer("app", "reg.example/app:v1.2.3"))
	good.InitContainers = []corev1.Container{goodContainer("migrate", "reg.example/migrate:v1")}
	bad := podSpec(goodContainer("app", "reg.example/unsigned:v1"), corev1.Container{
		Name: "sidecar", Image: "reg.example/offline:v1",
		Env: []corev1.EnvVar{{Name: "API_TOKEN", Value: "do-not-leak-me"}},
	})
	return []struct {
		name   string
		mode   string
		mutate bool
		req    *admissionv1.AdmissionRequest
	}{
		{"pod-allowed", policy.ModeEnforce, false, request(t, podKind, newPod(good))},
		{"pod-denied", policy.ModeEnforce, false, request(t, podKind, newPod(bad))},
		{"deployment-warn", policy.ModeWarn, false, request(t, deploymentKind, workload(deploymentKind, bad))},
		{"deployment-mutate", policy.ModeEnforce, true, request(t, deploymentKind, workload(deploymentKind, good))},
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			p := newPolicy()
			p.mode = tc.mode
			w := newWebhook(t, goldenVerifier(), p)
			h := w.Validate()
			if tc.mutate {
				h = w.Mutate()
			}
			rec := post(t, h, reviewBody(t, tc.req))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, rec.Body.Bytes(), "", "  "); err != nil {
				t.Fatal(err)
			}
			got.WriteByte('\n')
			path := filepath.Join("testdata", tc.name+".golden.json")
			golden.Check(t, path, got.Bytes())
			if bytes.Contains(got.Bytes(), []byte("do-not-leak-me")) {
				t.Fatal("env value in response")
			}
		})
	}
}

// FuzzReview feeds arbitrary bodies to the validate handler: it never
// panics and answers with an AdmissionReview v1 or a 4xx.
func FuzzReview(f *testing.F) {
	t := &testing.T{}
	for _, tc := range goldenCases(t) {
		f.Add(reviewBody(t, tc.req))
	}
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","object":{"spec":{"containers":[{"name":"a","image":"x"}]}}}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"batch","version":"v1","kind":"CronJob"},"operation":"UPDATE","object":{"spec":{"jobTemplate":null}},"oldObject":7}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"object":{"spec":{"containers":[{"image":"a","securityContext":{"capabilities":{"add":[""]}},"env":[{"name":"TOKEN","value":"x"}]}]}}}}`,
	} {
		f.Add([]byte(s))
	}
	w, err := New(goldenVerifier(), newPolicy(), WithMaxBodyBytes(64<<10))
	if err != nil {
		f.Fatal(err)
	}
	h := w.Validate()
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := post(t, h, body)
		if rec.Code >= 400 && rec.Code < 500 {
			return
		}
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var out admissionv1.AdmissionReview
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("response is not JSON: %v", err)
		}
		if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil || out.Response.UID == "" {
			t.Fatalf("response is not an AdmissionReview v1 with a uid: %s", rec.Body)
		}
		if !out.Response.Allowed && (out.Response.Result == nil || out.Response.Result.Message == "") {
			t.Fatalf("denial without a message: %s", rec.Body)
		}
	})
}
