package admission

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"

	"github.com/hallmark-dev/hallmark/verify"
)

func TestDecisions(t *testing.T) {
	var (
		mu  sync.Mutex
		got []Decision
	)
	record := func(d Decision) { mu.Lock(); got = append(got, d); mu.Unlock() }
	v := &fakeVerifier{verify: func(_ context.Context, ref string) (*verify.Verdict, error) {
		if ref == "reg/broken:v1" {
			return nil, errors.New("registry unreachable")
		}
		return allowed(ref, "65532"), nil
	}}
	h := newWebhook(t, v, newPolicy(), WithDecisions(record)).Validate()
	pod := newPod(podSpec(goodContainer("app", "reg/app:v1"), goodContainer("side", "reg/broken:v1"), goodContainer("again", "reg/app:v1")))
	asAlice := func(r *admissionv1.AdmissionRequest) { r.UserInfo = authenticationv1.UserInfo{Username: "alice"} }
	resp := admit(t, h, request(t, podKind, pod, asAlice))
	if resp.Allowed {
		t.Fatal("a pod with an image that could not be verified was admitted")
	}
	slices.SortFunc(got, func(a, b Decision) int { return strings.Compare(a.Image, b.Image) })
	if len(got) != 2 {
		t.Fatalf("%d decisions, want one per distinct image: %+v", len(got), got)
	}
	app, broken := got[0], got[1]
	if app.Image != "reg/app:v1" || app.Verdict == nil || !app.Verdict.Allowed || app.Allowed || app.User != "alice" ||
		app.Namespace != "team" || app.Kind != "Pod" || app.Name != "app" || app.Operation != "CREATE" || len(app.Violations) == 0 {
		t.Errorf("decision about the verified image: %+v", app)
	}
	if broken.Image != "reg/broken:v1" || broken.Verdict != nil || broken.Err == nil {
		t.Errorf("decision about the unverifiable image: %+v", broken)
	}

	got = nil
	admit(t, h, request(t, podKind, pod, func(r *admissionv1.AdmissionRequest) { r.Operation = admissionv1.Delete }))
	if len(got) != 0 {
		t.Errorf("a DELETE, which verifies nothing, recorded %+v", got)
	}
}
