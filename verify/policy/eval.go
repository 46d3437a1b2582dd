package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"

	"github.com/hallmark-dev/hallmark"
)

// Names of the built-in rules' results.
const (
	BuiltinSigners              = "signers"
	BuiltinBuilders             = "builders"
	BuiltinRequirePredicateType = "requirePredicateType:"
)

// maxPlainDepth bounds the walk that checks whether input is plain JSON;
// deeper input is converted through encoding/json, which bounds it.
const maxPlainDepth = 1000

// Evaluate checks an image: the built-in requirePredicateType:<type> rules,
// then builders (if spec.builders is set), then every CEL rule that does
// not reference pod, in document order. It never fails: a rule that cannot
// be evaluated fails with the message "evaluate: <error>".
func (p *Policy) Evaluate(ctx context.Context, in Input) []RuleResult {
	spec := &p.doc.Spec
	results := make([]RuleResult, 0, len(spec.RequirePredicateTypes)+1+len(p.rules))
	for _, t := range spec.RequirePredicateTypes {
		results = append(results, requirePredicate(in, t))
	}
	if len(spec.Builders) > 0 {
		results = append(results, p.checkBuilder(in.Provenance))
	}
	return append(results, p.evalRules(ctx, in, false)...)
}

// requirePredicate is the rule that in holds a verified attestation of
// predicate type t.
func requirePredicate(in Input, t string) RuleResult {
	r := RuleResult{Name: BuiltinRequirePredicateType + t}
	r.Passed = slices.ContainsFunc(in.Attestations, func(a Attestation) bool { return a.PredicateType == t })
	if !r.Passed {
		r.Message = fmt.Sprintf("no verified %s attestation", t)
	}
	return r
}

// EvaluateIndex runs the rules that apply to the image index of a
// multi-platform image, whose platform manifests are each evaluated with
// Evaluate: requirePredicateTypes' SLSA provenance v1 entry, if listed, and
// builders, if set, in Evaluate's order. The other predicate types (SBOMs
// describe one platform's files) and the CEL rules (which read SBOMs and
// image configs) apply to the platform manifests only.
func (p *Policy) EvaluateIndex(in Input) []RuleResult {
	spec := &p.doc.Spec
	var results []RuleResult
	if t := hallmark.PredicateSLSAProvenanceV1; slices.Contains(spec.RequirePredicateTypes, t) {
		results = append(results, requirePredicate(in, t))
	}
	if len(spec.Builders) > 0 {
		results = append(results, p.checkBuilder(in.Provenance))
	}
	return results
}

// EvaluatePod runs the rules that reference pod, in document order, for
// admission. in.Pod must be set; if it is nil those rules fail.
func (p *Policy) EvaluatePod(ctx context.Context, in Input) []RuleResult {
	return p.evalRules(ctx, in, true)
}

func (p *Policy) checkBuilder(prov map[string]any) RuleResult {
	r := RuleResult{Name: BuiltinBuilders}
	if prov == nil {
		r.Message = "no verified SLSA provenance"
		return r
	}
	id, _ := lookup(prov, "runDetails", "builder", "id").(string)
	switch {
	case id == "":
		r.Message = "provenance has no runDetails.builder.id"
	case slices.Contains(p.doc.Spec.Builders, id):
		r.Passed = true
	default:
		r.Message = fmt.Sprintf("builder %q is not allowed", id)
	}
	return r
}

func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func (p *Policy) evalRules(ctx context.Context, in Input, pod bool) []RuleResult {
	var selected []*rule
	for _, r := range p.rules {
		if r.pod == pod {
			selected = append(selected, r)
		}
	}
	if len(selected) == 0 {
		return nil
	}
	vars, err := activation(in)
	results := make([]RuleResult, 0, len(selected))
	for _, r := range selected {
		switch {
		case err != nil:
			results = append(results, RuleResult{Name: r.name, Message: "evaluate: " + err.Error()})
		case pod && in.Pod == nil:
			results = append(results, RuleResult{Name: r.name,
				Message: "no Pod to evaluate: the rule references pod, which is set only during admission"})
		default:
			results = append(results, p.evalRule(ctx, r, vars))
		}
	}
	return results
}

func (p *Policy) evalRule(ctx context.Context, r *rule, vars cel.Activation) RuleResult {
	res := RuleResult{Name: r.name}
	if err := ctx.Err(); err != nil {
		res.Message = "evaluate: " + err.Error()
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	out, _, err := r.prg.ContextEval(ctx, vars)
	if err != nil {
		res.Message = "evaluate: " + err.Error()
		return res
	}
	b, ok := out.Value().(bool)
	switch {
	case !ok:
		res.Message = fmt.Sprintf("evaluate: result has type %s, want bool", out.Type().TypeName())
	case !b:
		res.Message = r.message
	default:
		res.Passed = true
	}
	return res
}

// activation converts the input to the rules' variables, plain JSON values.
func activation(in Input) (cel.Activation, error) {
	vars := map[string]any{}
	var err error
	for name, m := range map[string]map[string]any{VarProvenance: in.Provenance, VarSBOM: in.SBOM, VarPod: in.Pod, VarVulns: in.Vulns} {
		if vars[name], err = jsonObject(name, m); err != nil {
			return nil, err
		}
	}
	img := map[string]any{"ref": in.Image.Ref, "digest": in.Image.Digest, "repository": in.Image.Repository}
	for name, m := range map[string]map[string]any{"config": in.Image.Config, "manifest": in.Image.Manifest} {
		if img[name], err = jsonObject("image."+name, m); err != nil {
			return nil, err
		}
	}
	vars[VarImage] = img
	atts := make([]any, len(in.Attestations))
	for i, a := range in.Attestations {
		atts[i] = map[string]any{
			"predicateType":  a.PredicateType,
			"signerIdentity": a.SignerIdentity,
			"signerIssuer":   a.SignerIssuer,
		}
	}
	vars[VarAttestations] = atts
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	vars[VarNow] = now.UTC()
	return cel.NewActivation(vars)
}

// jsonObject returns m as a plain JSON value, null if m is nil.
func jsonObject(name string, m map[string]any) (any, error) {
	if m == nil {
		return types.NullValue, nil
	}
	if isPlain(m, 0) {
		return m, nil
	}
	// Other Go values (ints, []string, structs, typed nils) take the
	// shape encoding/json gives them.
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("convert %s to JSON: %w", name, err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("convert %s to JSON: %w", name, err)
	}
	return v, nil
}

// isPlain reports whether v holds only what encoding/json decodes into.
func isPlain(v any, depth int) bool {
	if depth > maxPlainDepth {
		return false
	}
	switch v := v.(type) {
	case nil, string, bool, float64:
		return true
	case map[string]any:
		return v != nil && allPlain(maps.Values(v), depth+1)
	case []any:
		return v != nil && allPlain(slices.Values(v), depth+1)
	default:
		return false
	}
}

// allPlain reports whether every element of a map or slice at depth is
// plain.
func allPlain(elems iter.Seq[any], depth int) bool {
	for e := range elems {
		if !isPlain(e, depth) {
			return false
		}
	}
	return true
}
