package admission

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// ImageVerifier verifies one image reference; a denial is a Verdict with
// Allowed false, an error means "could not evaluate". Errors wrap the
// sentinels of package hallmark.
type ImageVerifier interface {
	Verify(ctx context.Context, ref string) (*verify.Verdict, error)
}

// Policy is what the webhook needs of a policy (*policy.Policy has it).
type Policy interface {
	// Name identifies the policy in messages.
	Name() string
	// Mode is policy.ModeEnforce (or "") or policy.ModeWarn.
	Mode() string
	// HygieneEnabled says whether the hygiene rule (policy.RuleNoPrivileged
	// …) is on.
	HygieneEnabled(rule string) bool
	// AllowedCapabilities are the capabilities containers may add.
	AllowedCapabilities() []string
	// HasPodRules says whether the policy has rules over the Pod.
	HasPodRules() bool
	// EvaluatePod evaluates the Pod rules with in.Pod set.
	EvaluatePod(ctx context.Context, in policy.Input) []policy.RuleResult
}

// Webhook answers Kubernetes AdmissionReviews for Pods and workloads: it
// verifies every image they run and checks their hygiene.
type Webhook struct {
	verifier ImageVerifier
	policy   Policy
	opts     options
}

// New returns a Webhook that verifies images with v and applies p.
func New(v ImageVerifier, p Policy, opts ...Option) (*Webhook, error) {
	if v == nil {
		return nil, fmt.Errorf("%w: nil image verifier", hallmark.ErrInvalid)
	}
	if p == nil {
		return nil, fmt.Errorf("%w: nil policy", hallmark.ErrInvalid)
	}
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	switch m := p.Mode(); m {
	case "", policy.ModeEnforce, policy.ModeWarn:
	default:
		return nil, fmt.Errorf("%w: policy %q has admission mode %q: want %q or %q", hallmark.ErrInvalid, p.Name(), m, policy.ModeEnforce, policy.ModeWarn)
	}
	return &Webhook{verifier: v, policy: p, opts: o}, nil
}

// Validate returns the handler of a ValidatingAdmissionWebhook: it admits
// or denies (or, in warn mode, admits with warnings).
func (w *Webhook) Validate() http.Handler { return w.handler(false) }

// Mutate returns the handler of a MutatingAdmissionWebhook: it checks as
// Validate does and, when it admits, pins each image that is not pinned by
// digest to the digest it verified, with a JSON Patch.
func (w *Webhook) Mutate() http.Handler { return w.handler(true) }

func (w *Webhook) handler(mutate bool) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		req, herr := readReview(rw, r, w.opts.maxBodyBytes)
		if herr != nil {
			w.opts.logger.LogAttrs(r.Context(), slog.LevelWarn, "admission review rejected",
				slog.Int("status", herr.code), slog.String("error", herr.msg))
			writeError(rw, herr)
			return
		}
		resp, d := w.review(r.Context(), req, mutate)
		resp.UID = req.UID
		// Denials and warnings are logged at Info; clean admissions, the
		// bulk of a busy cluster's reviews, at Debug (the API server's audit
		// log has them too).
		level := slog.LevelDebug
		if len(d.violations) > 0 || d.note != "" {
			level = slog.LevelInfo
		}
		if w.opts.logger.Enabled(r.Context(), level) {
			w.logReview(r.Context(), level, req, d, resp.Allowed, mutate, time.Since(start))
		}
		if w.opts.decisions != nil {
			w.record(req, d, resp.Allowed)
		}
		if err := writeReview(rw, resp); err != nil {
			w.opts.logger.LogAttrs(r.Context(), slog.LevelWarn, "write admission response",
				slog.String("uid", string(req.UID)), slog.String("error", err.Error()))
		}
	})
}

// record reports each verified image of a review to the decisions hook.
func (w *Webhook) record(req *admissionv1.AdmissionRequest, d decision, allowed bool) {
	for _, image := range d.images {
		r, ok := d.results[image]
		if !ok {
			continue
		}
		w.opts.decisions(Decision{
			UID: string(req.UID), Operation: string(req.Operation), Kind: req.Kind.Kind, Namespace: req.Namespace, Name: d.name,
			User: req.UserInfo.Username, DryRun: req.DryRun != nil && *req.DryRun,
			Image: image, Verdict: r.verdict, Err: r.err, Allowed: allowed, Violations: d.violations,
		})
	}
}

// logReview logs one review's outcome.
func (w *Webhook) logReview(ctx context.Context, level slog.Level, req *admissionv1.AdmissionRequest, d decision, allowed, mutate bool, took time.Duration) {
	attrs := []slog.Attr{
		slog.String("uid", string(req.UID)),
		slog.String("operation", string(req.Operation)),
		slog.String("kind", req.Kind.Kind),
		slog.String("namespace", req.Namespace),
		slog.String("name", d.name),
		slog.Bool("dryRun", req.DryRun != nil && *req.DryRun),
		slog.Bool("mutate", mutate),
		slog.Any("images", d.images),
		slog.Bool("allowed", allowed),
		slog.Int("violations", len(d.violations)),
		slog.Duration("duration", took),
	}
	if d.note != "" {
		attrs = append(attrs, slog.String("note", d.note))
	}
	if len(d.violations) > 0 {
		attrs = append(attrs, slog.String("message", message(d.violations)))
	}
	w.opts.logger.LogAttrs(ctx, level, "admission review", attrs...)
}
