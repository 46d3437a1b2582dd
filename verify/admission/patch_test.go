package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

func pinned(ref string) string { return allowed(ref, "").Pinned }

func TestMutatePatch(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	spec := podSpec(goodContainer("app", "reg/app:v1"), goodContainer("pinned", "reg/db@"+digest), goodContainer("again", "reg/app:v1"))
	spec.InitContainers = []corev1.Container{goodContainer("setup", "reg/setup:v2")}
	pod := newPod(spec)
	pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debug", Image: "reg/busybox:1.37", SecurityContext: goodContainer("", "").SecurityContext,
	}}}
	tests := []struct {
		name string
		req  *admissionv1.AdmissionRequest
		want []patchOp
	}{
		{"pod", request(t, podKind, pod), []patchOp{
			{"replace", "/spec/containers/0/image", pinned("reg/app:v1")},
			{"replace", "/spec/containers/2/image", pinned("reg/app:v1")},
			{"replace", "/spec/initContainers/0/image", pinned("reg/setup:v2")},
			{"replace", "/spec/ephemeralContainers/0/image", pinned("reg/busybox:1.37")},
		}},
		{"deployment", request(t, deploymentKind, workload(deploymentKind, spec)), []patchOp{
			{"replace", "/spec/template/spec/containers/0/image", pinned("reg/app:v1")},
			{"replace", "/spec/template/spec/containers/2/image", pinned("reg/app:v1")},
			{"replace", "/spec/template/spec/initContainers/0/image", pinned("reg/setup:v2")},
		}},
		{"cronjob", request(t, cronJobKind, workload(cronJobKind, podSpec(goodContainer("app", "reg/app:v1")))), []patchOp{
			{"replace", "/spec/jobTemplate/spec/template/spec/containers/0/image", pinned("reg/app:v1")},
		}},
		{"all pinned", request(t, podKind, newPod(podSpec(goodContainer("app", "reg/app@"+digest)))), nil},
		{"update leaves unchanged images", request(t, podKind, pod, func(r *admissionv1.AdmissionRequest) {
			old := newPod(spec) // without the ephemeral container
			old.Spec.Containers[2].Image = "reg/app:v0"
			raw, _ := json.Marshal(old)
			r.Operation, r.SubResource, r.OldObject = admissionv1.Update, "ephemeralcontainers", runtime.RawExtension{Raw: raw}
		}), []patchOp{
			{"replace", "/spec/containers/2/image", pinned("reg/app:v1")},
			{"replace", "/spec/ephemeralContainers/0/image", pinned("reg/busybox:1.37")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWebhook(t, &fakeVerifier{}, newPolicy())
			resp := admit(t, w.Mutate(), tt.req)
			if !resp.Allowed {
				t.Fatalf("denied: %s", msg(resp))
			}
			if tt.want == nil {
				if resp.Patch != nil || resp.PatchType != nil {
					t.Fatalf("patched: %s", resp.Patch)
				}
				return
			}
			if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
				t.Fatalf("patch type %v", resp.PatchType)
			}
			var got []patchOp
			if err := json.Unmarshal(resp.Patch, &got); err != nil {
				t.Fatalf("patch %s: %v", resp.Patch, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("patch\n%+v\nwant\n%+v", got, tt.want)
			}
			// Validate never patches.
			if resp := admit(t, w.Validate(), tt.req); resp.Patch != nil {
				t.Fatalf("Validate patched")
			}
		})
	}
}

func TestMutateDenied(t *testing.T) {
	f := &fakeVerifier{verify: func(_ context.Context, ref string) (*verify.Verdict, error) {
		v := allowed(ref, "1000")
		v.Allowed = ref != "reg/bad:v1"
		return v, nil
	}}
	resp := admit(t, newWebhook(t, f, newPolicy()).Mutate(), request(t, podKind, newPod(podSpec(goodContainer("a", "reg/app:v1"), goodContainer("b", "reg/bad:v1")))))
	if resp.Allowed || resp.Patch != nil || resp.PatchType != nil {
		t.Fatalf("allowed=%v patch=%s", resp.Allowed, resp.Patch)
	}
}

func TestWarnMode(t *testing.T) {
	f := &fakeVerifier{verify: func(_ context.Context, ref string) (*verify.Verdict, error) {
		switch ref {
		case "reg/bad:v1":
			v := allowed(ref, "1000")
			v.Allowed, v.Rules = false, []policy.RuleResult{{Name: "builders", Message: "builder is not allowed"}}
			return v, nil
		case "reg/down:v1":
			return nil, fmt.Errorf("resolve: %w", hallmark.ErrUnavailable)
		}
		return allowed(ref, "1000"), nil
	}}
	p := newPolicy()
	p.mode = policy.ModeWarn
	bad := goodContainer("b", "reg/bad:v1")
	bad.SecurityContext.ReadOnlyRootFilesystem = nil
	req := request(t, podKind, newPod(podSpec(goodContainer("a", "reg/app:v1"), bad, goodContainer("c", "reg/down:v1"))))
	w := newWebhook(t, f, p)
	resp := admit(t, w.Validate(), req)
	want := []string{
		`hallmark: image "reg/bad:v1" (sha256:` + hallmark.SHA256([]byte("reg/bad:v1")).Hex()[:12] + `…) denied by policy "gateway-built": rule "builders": builder is not allowed`,
		`hallmark: could not verify image "reg/down:v1": resolve: unavailable`,
		`hallmark: container "b": rule "readOnlyRootFilesystem": securityContext.readOnlyRootFilesystem is not true`,
	}
	if !resp.Allowed || resp.Result != nil || !slices.Equal(resp.Warnings, want) {
		t.Fatalf("got allowed=%v result=%v warnings\n%q\nwant\n%q", resp.Allowed, resp.Result, resp.Warnings, want)
	}
	// Mutate admits too, pinning what it could verify.
	resp = admit(t, w.Mutate(), req)
	var ops []patchOp
	if err := json.Unmarshal(resp.Patch, &ops); err != nil || !resp.Allowed || len(ops) != 2 || ops[1].Path != "/spec/containers/1/image" {
		t.Fatalf("mutate in warn mode: allowed=%v patch %s", resp.Allowed, resp.Patch)
	}

	t.Run("bounded", func(t *testing.T) {
		var cs []corev1.Container
		for i := range 40 {
			cs = append(cs, corev1.Container{Name: fmt.Sprintf("c%d-%s", i, strings.Repeat("n", 50)), Image: "reg/app:v1"})
		}
		resp := admit(t, w.Validate(), request(t, podKind, newPod(podSpec(cs...))))
		if !resp.Allowed || len(resp.Warnings) != maxWarnings {
			t.Fatalf("allowed=%v, %d warnings", resp.Allowed, len(resp.Warnings))
		}
		for _, w := range resp.Warnings {
			if len(w) > maxWarning {
				t.Fatalf("warning of %d bytes: %s", len(w), w)
			}
		}
		if last := resp.Warnings[maxWarnings-1]; !strings.HasSuffix(last, "more violations") {
			t.Fatalf("last warning %q", last)
		}
	})
}

// TestKindsHaveSpecPaths guards the patch paths of every kind.
func TestKindsHaveSpecPaths(t *testing.T) {
	want := map[string]string{
		"Pod": "/spec", "Deployment": "/spec/template/spec", "StatefulSet": "/spec/template/spec",
		"DaemonSet": "/spec/template/spec", "ReplicaSet": "/spec/template/spec", "Job": "/spec/template/spec",
		"CronJob": "/spec/jobTemplate/spec/template/spec", "ReplicationController": "/spec/template/spec", "PodTemplate": "/template/spec",
	}
	if len(kinds) != len(want) {
		t.Fatalf("%d kinds, want %d", len(kinds), len(want))
	}
	for gvk, k := range kinds {
		if k.specPath != want[gvk.Kind] {
			t.Errorf("%s: spec path %q, want %q", gvk, k.specPath, want[gvk.Kind])
		}
		raw, _ := json.Marshal(workload(metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind}, podSpec(goodContainer("x", "reg/x:v1"))))
		o, err := decodeObject(gvk, raw)
		if err != nil || len(o.containers()) != 1 || o.imagePath(o.containers()[0]) != want[gvk.Kind]+"/containers/0/image" {
			t.Errorf("%s: decode: %v", gvk, err)
		}
	}
}
