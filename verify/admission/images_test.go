package admission

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

func TestImageExtraction(t *testing.T) {
	spec := podSpec(goodContainer("app", "reg/app:v1"), goodContainer("sidecar", "reg/proxy:v2"))
	spec.InitContainers = []corev1.Container{goodContainer("setup", "reg/setup:v3")}
	kinds := []metav1.GroupVersionKind{
		podKind, deploymentKind, cronJobKind,
		{Group: "apps", Version: "v1", Kind: "StatefulSet"},
		{Group: "apps", Version: "v1", Kind: "DaemonSet"},
		{Group: "apps", Version: "v1", Kind: "ReplicaSet"},
		{Group: "batch", Version: "v1", Kind: "Job"},
		{Version: "v1", Kind: "ReplicationController"},
		{Version: "v1", Kind: "PodTemplate"},
	}
	want := []string{"reg/app:v1", "reg/proxy:v2", "reg/setup:v3"}
	for _, kind := range kinds {
		t.Run(kind.Kind, func(t *testing.T) {
			f := &fakeVerifier{}
			resp := admit(t, newWebhook(t, f, newPolicy()).Validate(), request(t, kind, workload(kind, spec)))
			if !resp.Allowed {
				t.Fatalf("denied: %s", msg(resp))
			}
			if got := slices.Sorted(maps.Keys(f.callCount())); !slices.Equal(got, want) {
				t.Fatalf("verified %v, want %v", got, want)
			}
		})
	}
	t.Run("ephemeral containers", func(t *testing.T) {
		s := spec
		s.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: "debugger", Image: "reg/busybox:1.37", SecurityContext: goodContainer("", "").SecurityContext,
		}}}
		f := &fakeVerifier{}
		req := request(t, podKind, newPod(s), func(r *admissionv1.AdmissionRequest) {
			r.Operation, r.SubResource = admissionv1.Update, "ephemeralcontainers"
		})
		if resp := admit(t, newWebhook(t, f, newPolicy()).Validate(), req); !resp.Allowed {
			t.Fatalf("denied: %s", msg(resp))
		}
		if f.callCount()["reg/busybox:1.37"] != 1 || len(f.callCount()) != 4 {
			t.Fatalf("verified %v", f.callCount())
		}
	})
}

func TestDistinctImagesVerifiedOnce(t *testing.T) {
	spec := podSpec(goodContainer("a", "reg/app:v1"), goodContainer("b", "reg/app:v1"), goodContainer("c", "reg/other:v1"))
	spec.InitContainers = []corev1.Container{goodContainer("d", "reg/other:v1"), goodContainer("e", "reg/app:v1")}
	f := &fakeVerifier{}
	if resp := admit(t, newWebhook(t, f, newPolicy()).Validate(), request(t, podKind, newPod(spec))); !resp.Allowed {
		t.Fatalf("denied: %s", msg(resp))
	}
	if got := f.callCount(); len(got) != 2 || got["reg/app:v1"] != 1 || got["reg/other:v1"] != 1 {
		t.Fatalf("calls %v, want each image once", got)
	}
}

func TestParallelVerification(t *testing.T) {
	images := []string{"reg/a:v1", "reg/b:v1", "reg/c:v1", "reg/d:v1"}
	var cs []corev1.Container
	for i, img := range images {
		cs = append(cs, goodContainer(fmt.Sprint("c", i), img))
	}
	req := request(t, podKind, newPod(podSpec(cs...)))

	t.Run("all at once", func(t *testing.T) {
		// Each verification waits for all of them to have started: done only
		// if they run in parallel (else the deadline denies).
		var started sync.WaitGroup
		started.Add(len(images))
		all := make(chan struct{})
		go func() { started.Wait(); close(all) }()
		f := &fakeVerifier{verify: func(ctx context.Context, ref string) (*verify.Verdict, error) {
			started.Done()
			select {
			case <-all:
				return allowed(ref, "1000"), nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}}
		if resp := admit(t, newWebhook(t, f, newPolicy(), WithTimeout(time.Minute)).Validate(), req); !resp.Allowed {
			t.Fatalf("denied: %s", msg(resp))
		}
	})
	t.Run("bounded", func(t *testing.T) {
		var inFlight, most atomic.Int32
		f := &fakeVerifier{verify: func(_ context.Context, ref string) (*verify.Verdict, error) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			return allowed(ref, "1000"), nil
		}}
		if resp := admit(t, newWebhook(t, f, newPolicy(), WithParallelism(2)).Validate(), req); !resp.Allowed {
			t.Fatalf("denied: %s", msg(resp))
		}
		if most.Load() > 2 {
			t.Fatalf("%d verifications at once, want at most 2", most.Load())
		}
	})
}

func TestVerificationFailures(t *testing.T) {
	blocked := make(chan struct{})
	t.Cleanup(func() { close(blocked) })
	tests := []struct {
		name   string
		verify func(ctx context.Context, ref string) (*verify.Verdict, error)
		want   string
	}{
		{"deadline", func(ctx context.Context, _ string) (*verify.Verdict, error) {
			<-ctx.Done()
			return nil, fmt.Errorf("resolve: %w", ctx.Err())
		}, `could not verify image "reg/slow:v1": timed out after 20ms`},
		{"verifier ignores the deadline", func(context.Context, string) (*verify.Verdict, error) {
			<-blocked
			return nil, nil
		}, `could not verify image "reg/slow:v1": timed out after 20ms`},
		{"error", func(context.Context, string) (*verify.Verdict, error) {
			return nil, fmt.Errorf("resolve reg/slow:v1: %w: connection refused", hallmark.ErrUnavailable)
		}, `could not verify image "reg/slow:v1": resolve reg/slow:v1: unavailable: connection refused`},
		{"no verdict", func(context.Context, string) (*verify.Verdict, error) { return nil, nil },
			`could not verify image "reg/slow:v1": verifier returned no verdict`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeVerifier{verify: func(ctx context.Context, ref string) (*verify.Verdict, error) {
				if ref == "reg/slow:v1" {
					return tt.verify(ctx, ref)
				}
				return allowed(ref, "1000"), nil
			}}
			w := newWebhook(t, f, newPolicy(), WithTimeout(20*time.Millisecond))
			req := request(t, podKind, newPod(podSpec(goodContainer("a", "reg/fast:v1"), goodContainer("b", "reg/slow:v1"))))
			resp := admit(t, w.Validate(), req)
			if resp.Allowed || resp.Result.Code != 403 || msg(resp) != tt.want {
				t.Fatalf("got allowed=%v %q, want denial %q", resp.Allowed, msg(resp), tt.want)
			}
		})
	}
}

func TestDeniedVerdict(t *testing.T) {
	f := &fakeVerifier{verify: func(_ context.Context, ref string) (*verify.Verdict, error) {
		v := allowed(ref, "1000")
		v.Allowed = false
		switch ref {
		case "reg/app:v1":
			v.Rules = []policy.RuleResult{
				{Name: "signers", Passed: true},
				{Name: "builders", Message: `builder "x" is not allowed`},
				{Name: "no-critical-cves", Message: "2 critical vulnerabilities"},
			}
		case "reg/reasons:v1":
			v.Policy, v.Reasons = "", []string{"no attestation verified"}
		default:
			v.Digest = ""
		}
		return v, nil
	}}
	w := newWebhook(t, f, newPolicy())
	req := request(t, podKind, newPod(podSpec(goodContainer("a", "reg/app:v1"), goodContainer("b", "reg/reasons:v1"), goodContainer("c", "reg/bare:v1"))))
	resp := admit(t, w.Validate(), req)
	want := `image "reg/app:v1" (sha256:` + hallmark.SHA256([]byte("reg/app:v1")).Hex()[:12] + `…) denied by policy "gateway-built": ` +
		`rule "builders": builder "x" is not allowed; rule "no-critical-cves": 2 critical vulnerabilities; ` +
		`image "reg/reasons:v1" (sha256:` + hallmark.SHA256([]byte("reg/reasons:v1")).Hex()[:12] + `…) denied by policy "gateway-built": no attestation verified; ` +
		`image "reg/bare:v1" denied by policy "gateway-built": no reason given`
	if resp.Allowed || resp.Result.Code != 403 || resp.Result.Reason != metav1.StatusReasonForbidden || msg(resp) != want {
		t.Fatalf("got %+v\nwant message %s", resp.Result, want)
	}
}

func TestPodRules(t *testing.T) {
	var mu sync.Mutex
	var seen []policy.Input
	p := newPolicy()
	p.podRules = func(in policy.Input) []policy.RuleResult {
		mu.Lock()
		seen = append(seen, in)
		mu.Unlock()
		spec, _ := in.Pod["spec"].(map[string]any)
		_, hasHostNet := spec["hostNetwork"]
		return []policy.RuleResult{
			{Name: "team-label", Passed: true},
			{Name: "no-host-network", Passed: !hasHostNet, Message: "hostNetwork is not allowed"},
		}
	}
	spec := podSpec(goodContainer("app", "reg/app:v1"))
	spec.HostNetwork = true
	for _, kind := range []metav1.GroupVersionKind{podKind, cronJobKind} {
		t.Run(kind.Kind, func(t *testing.T) {
			seen = nil
			resp := admit(t, newWebhook(t, &fakeVerifier{}, p).Validate(), request(t, kind, workload(kind, spec)))
			want := `image "reg/app:v1" (sha256:` + hallmark.SHA256([]byte("reg/app:v1")).Hex()[:12] + `…) denied by policy "gateway-built": pod rule "no-host-network": hostNetwork is not allowed`
			if resp.Allowed || msg(resp) != want {
				t.Fatalf("got %q, want %q", msg(resp), want)
			}
			if len(seen) != 1 {
				t.Fatalf("EvaluatePod called %d times", len(seen))
			}
			in := seen[0]
			meta, _ := in.Pod["metadata"].(map[string]any)
			labels, _ := meta["labels"].(map[string]any)
			if in.Pod["kind"] != "Pod" || in.Pod["apiVersion"] != "v1" || meta["namespace"] != "team" || labels["app"] != "web" || in.Image.Ref != "reg/app:v1" {
				t.Fatalf("EvaluatePod saw %+v", in)
			}
		})
	}
	t.Run("not for denied images", func(t *testing.T) {
		seen = nil
		f := &fakeVerifier{verify: func(_ context.Context, ref string) (*verify.Verdict, error) {
			v := allowed(ref, "1000")
			v.Allowed = false
			return v, nil
		}}
		admit(t, newWebhook(t, f, p).Validate(), request(t, podKind, newPod(spec)))
		if len(seen) != 0 {
			t.Fatalf("EvaluatePod called for a denied image")
		}
	})
}

func TestMessageBounds(t *testing.T) {
	var cs []corev1.Container
	for i := range maxImages {
		cs = append(cs, goodContainer(fmt.Sprint("c", i), fmt.Sprintf("reg/%s:v%d", strings.Repeat("x", 100), i)))
	}
	f := &fakeVerifier{verify: func(context.Context, string) (*verify.Verdict, error) {
		return nil, fmt.Errorf("%w: %s", hallmark.ErrUnavailable, strings.Repeat("é", 2000))
	}}
	resp := admit(t, newWebhook(t, f, newPolicy()).Validate(), request(t, podKind, newPod(podSpec(cs...))))
	m := msg(resp)
	if len(m) > maxMessage || !strings.HasSuffix(m, " more") || !strings.HasPrefix(m, `could not verify image "reg/xxx`) {
		t.Fatalf("message of %d bytes: …%s", len(m), m[max(0, len(m)-80):])
	}
}

func TestTooManyImages(t *testing.T) {
	var cs []corev1.Container
	for i := range maxImages + 1 {
		cs = append(cs, goodContainer(fmt.Sprint("c", i), fmt.Sprintf("reg/app:v%d", i)))
	}
	f := &fakeVerifier{}
	resp := admit(t, newWebhook(t, f, newPolicy()).Mutate(), request(t, podKind, newPod(podSpec(cs...))))
	if resp.Allowed || !strings.HasPrefix(msg(resp), "Pod has 65 distinct images: at most 64 are verified") || len(f.callCount()) != 0 {
		t.Fatalf("allowed=%v %q, %d verified", resp.Allowed, msg(resp), len(f.callCount()))
	}
	p := newPolicy()
	p.mode = policy.ModeWarn
	resp = admit(t, newWebhook(t, f, p).Mutate(), request(t, podKind, newPod(podSpec(cs...))))
	if !resp.Allowed || len(resp.Warnings) != 1 || resp.Patch != nil {
		t.Fatalf("warn mode: allowed=%v warnings %q patch %s", resp.Allowed, resp.Warnings, resp.Patch)
	}
}

// TestTemplatedCoreKindsDenied: a ReplicationController or PodTemplate
// whose template names an image that fails verification is denied, as
// shaped by the API server (raw JSON, as in other admission projects' test
// data), not admitted unchecked.
func TestTemplatedCoreKindsDenied(t *testing.T) {
	f := &fakeVerifier{verify: func(_ context.Context, ref string) (*verify.Verdict, error) {
		v := allowed(ref, "1000")
		v.Allowed, v.Reasons = false, []string{"no attestation verified"}
		return v, nil
	}}
	w := newWebhook(t, f, newPolicy())
	for _, kind := range []metav1.GroupVersionKind{{Version: "v1", Kind: "ReplicationController"}, {Version: "v1", Kind: "PodTemplate"}} {
		t.Run(kind.Kind, func(t *testing.T) {
			resp := admit(t, w.Validate(), request(t, kind, workload(kind, podSpec(goodContainer("app", "reg/unsigned:v1")))))
			if resp.Allowed || !strings.Contains(msg(resp), `image "reg/unsigned:v1"`) {
				t.Fatalf("%s with an unsigned image: allowed %v, %q", kind.Kind, resp.Allowed, msg(resp))
			}
		})
	}
}
