package admission

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// decision is what a review found, for the log.
type decision struct {
	name       string
	images     []string
	results    map[string]result
	violations []string
	note       string
}

// Decision is one image's part in one admission review, for an audit log
// (WithDecisions).
type Decision struct {
	// UID is the review's; Operation, Kind, Namespace and Name the
	// object's; User the Kubernetes user who asked (userInfo.username).
	UID, Operation, Kind, Namespace, Name, User string
	// DryRun says the object is not persisted.
	DryRun bool
	// Image is the image as the object names it. Verdict is its verdict,
	// or nil when it could not be verified; Err then says why.
	Image   string
	Verdict *verify.Verdict
	Err     error
	// Allowed is the review's answer (warn mode admits despite
	// violations), Violations every violation the review found.
	Allowed    bool
	Violations []string
}

// review decides one admission request.
func (w *Webhook) review(ctx context.Context, req *admissionv1.AdmissionRequest, mutate bool) (*admissionv1.AdmissionResponse, decision) {
	d := decision{name: req.Name}
	if req.Operation == admissionv1.Delete || req.Operation == admissionv1.Connect {
		d.note = "operation not checked"
		return allow(), d
	}
	gvk := schema.GroupVersionKind{Group: req.Kind.Group, Version: req.Kind.Version, Kind: req.Kind.Kind}
	if !checkedSubresource(gvk, req.SubResource) {
		d.note = "subresource not checked"
		return allow(), d
	}
	o, err := decodeObject(gvk, req.Object.Raw)
	switch {
	case errors.Is(err, errUnsupportedKind):
		d.note = "kind not checked"
		return allow(), d
	case err != nil:
		// Fail closed, in every mode: the API server never sends an object
		// that does not decode, and nothing can be checked in one.
		d.violations = []string{clip("malformed object: "+err.Error(), maxViolation)}
		return deny(http.StatusBadRequest, metav1.StatusReasonBadRequest, d.violations), d
	}
	if d.name == "" {
		d.name = cmp.Or(o.meta.Name, o.meta.GenerateName)
	}
	cs := o.containers()
	if len(o.spec.Containers) == 0 {
		d.violations = []string{fmt.Sprintf("%s has no containers", gvk.Kind)}
		return deny(http.StatusBadRequest, metav1.StatusReasonBadRequest, d.violations), d
	}
	for _, c := range cs {
		if c.image == "" {
			d.violations = append(d.violations, c.what()+": has no image")
		}
	}

	d.images = distinctImages(cs)
	vctx, cancel := context.WithTimeout(ctx, w.opts.timeout)
	defer cancel()
	var results map[string]result
	if len(d.images) > maxImages {
		d.violations = append(d.violations, fmt.Sprintf("%s has %d distinct images: at most %d are verified", gvk.Kind, len(d.images), maxImages))
	} else {
		results = w.verifyImages(vctx, d.images)
		d.results = results
		d.violations = append(d.violations, w.imageViolations(vctx, o, req.Namespace, d.images, results)...)
	}
	d.violations = append(d.violations, w.hygiene(o, results)...)

	var resp *admissionv1.AdmissionResponse
	switch {
	case len(d.violations) == 0:
		resp = allow()
	case w.policy.Mode() == policy.ModeWarn:
		resp = allow()
		resp.Warnings = warnings(d.violations)
	default:
		return deny(http.StatusForbidden, metav1.StatusReasonForbidden, d.violations), d
	}
	if mutate {
		var old *object
		if req.Operation == admissionv1.Update {
			old, _ = decodeObject(gvk, req.OldObject.Raw) // nil: patch every image
		}
		patch, err := pinPatch(o, old, results)
		if err != nil {
			// Admit unpatched rather than fail: the checks passed.
			d.note = err.Error()
		} else if patch != nil {
			pt := admissionv1.PatchTypeJSONPatch
			resp.Patch, resp.PatchType = patch, &pt
		}
	}
	return resp, d
}

// imageViolations reports each image that could not be verified, or whose
// verdict denies it, or whose verdict allows it but the policy's Pod rules
// fail.
func (w *Webhook) imageViolations(ctx context.Context, o *object, namespace string, images []string, results map[string]result) []string {
	var violations []string
	var pod map[string]any
	var podErr error
	for _, image := range images {
		r := results[image]
		switch {
		case r.err != nil:
			violations = append(violations, w.couldNotVerify(ctx, image, r.err))
		case !r.verdict.Allowed:
			violations = append(violations, w.denied(r.verdict, image))
		case w.policy.HasPodRules():
			if pod == nil && podErr == nil {
				pod, podErr = o.podMap(namespace)
			}
			if podErr != nil {
				violations = append(violations, clip(fmt.Sprintf("could not evaluate pod rules for image %q: %s", image, podErr), maxViolation))
				continue
			}
			var why []string
			for _, pi := range podInputs(r.verdict) {
				in := pi.input
				in.Pod = pod
				for _, rr := range w.policy.EvaluatePod(ctx, in) {
					if !rr.Passed {
						why = append(why, pi.label+ruleFailure("pod rule", rr.Name, rr.Message))
					}
				}
			}
			if len(why) > 0 {
				violations = append(violations, w.imageViolation(r.verdict, image, why))
			}
		}
	}
	return violations
}

// podInput is what Pod rules see of one image: the verdict's input, or for
// an index each platform's (whichever the node pulls), labeled.
type podInput struct {
	label string
	input policy.Input
}

func podInputs(v *verify.Verdict) []podInput {
	if len(v.Platforms) == 0 {
		return []podInput{{input: v.Input}}
	}
	out := make([]podInput, len(v.Platforms))
	for i, p := range v.Platforms {
		out[i] = podInput{label: platformLabel(p), input: p.Input}
	}
	return out
}

// checkedSubresource says whether a request on subresource of gvk is
// checked: the object itself, and a Pod's ephemeral containers. Status
// updates and other subresources change no image.
func checkedSubresource(gvk schema.GroupVersionKind, sub string) bool {
	return sub == "" || (gvk.Group == "" && gvk.Kind == "Pod" && sub == "ephemeralcontainers")
}

func allow() *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: true}
}

func deny(code int32, reason metav1.StatusReason, violations []string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{
		Allowed: false,
		Result: &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    code,
			Reason:  reason,
			Message: message(violations),
		},
	}
}
