package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	slsa = "https://slsa.dev/provenance/v1"
	spdx = "https://spdx.dev/Document"
)

// TestEvaluateIndex: an index answers for its provenance only; SBOMs and
// CEL rules are the platform manifests'.
func TestEvaluateIndex(t *testing.T) {
	p := mustLoad(t, doc(`  builders: [https://hallmark.dev/builders/dev]
  requirePredicateTypes: [`+slsa+`, `+spdx+`]
  rules: [{name: never, expression: "false"}]
`))
	prov := map[string]any{"runDetails": map[string]any{"builder": map[string]any{"id": "https://hallmark.dev/builders/dev"}}}
	for _, tt := range []struct {
		name string
		in   Input
		want []RuleResult
	}{
		{"provenance only", Input{Attestations: []Attestation{{PredicateType: slsa}}, Provenance: prov}, []RuleResult{
			{Name: "requirePredicateType:" + slsa, Passed: true},
			{Name: "builders", Passed: true},
		}},
		{"nothing verified", Input{}, []RuleResult{
			{Name: "requirePredicateType:" + slsa, Message: "no verified " + slsa + " attestation"},
			{Name: "builders", Message: "no verified SLSA provenance"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.EvaluateIndex(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("EvaluateIndex =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
	if got := mustLoad(t, doc("")).EvaluateIndex(Input{}); len(got) != 0 {
		t.Errorf("a policy without builders or provenance requires %+v of an index", got)
	}
}

func TestEvaluateBuiltins(t *testing.T) {
	p := mustLoad(t, doc(`  builders: [https://hallmark.dev/builders/dev, https://hallmark.example.com/builders/prod]
  requirePredicateTypes: [`+slsa+`, `+spdx+`]
  rules: [{name: always, expression: "true"}]
`))
	prov := func(id any) map[string]any {
		return map[string]any{"runDetails": map[string]any{"builder": map[string]any{"id": id}}}
	}
	both := []Attestation{{PredicateType: slsa}, {PredicateType: spdx}}
	tests := []struct {
		name string
		in   Input
		want []RuleResult
	}{
		{"all pass", Input{Attestations: both, Provenance: prov("https://hallmark.dev/builders/dev")}, []RuleResult{
			{Name: "requirePredicateType:" + slsa, Passed: true},
			{Name: "requirePredicateType:" + spdx, Passed: true},
			{Name: "builders", Passed: true},
			{Name: "always", Passed: true},
		}},
		{"nothing verified", Input{}, []RuleResult{
			{Name: "requirePredicateType:" + slsa, Message: "no verified " + slsa + " attestation"},
			{Name: "requirePredicateType:" + spdx, Message: "no verified " + spdx + " attestation"},
			{Name: "builders", Message: "no verified SLSA provenance"},
			{Name: "always", Passed: true},
		}},
		{"other builder", Input{Attestations: both, Provenance: prov("https://evil.example/builder")}, []RuleResult{
			{Name: "requirePredicateType:" + slsa, Passed: true},
			{Name: "requirePredicateType:" + spdx, Passed: true},
			{Name: "builders", Message: `builder "https://evil.example/builder" is not allowed`},
			{Name: "always", Passed: true},
		}},
		{"builder id not a string", Input{Attestations: both[:1], Provenance: prov(7.0)}, []RuleResult{
			{Name: "requirePredicateType:" + slsa, Passed: true},
			{Name: "requirePredicateType:" + spdx, Message: "no verified " + spdx + " attestation"},
			{Name: "builders", Message: "provenance has no runDetails.builder.id"},
			{Name: "always", Passed: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Evaluate(t.Context(), tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("Evaluate =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
	if got := mustLoad(t, doc("")).Evaluate(t.Context(), Input{}); len(got) != 0 {
		t.Errorf("Evaluate of an empty policy = %+v, want nothing", got)
	}
}

func TestEvaluateRules(t *testing.T) {
	in := Input{
		Image: Image{Ref: "registry.example/app:v1", Digest: "sha256:" + strings.Repeat("a", 64),
			Repository: "registry.example/app"},
		Provenance: map[string]any{
			"runDetails": map[string]any{"builder": map[string]any{"id": "https://b"}},
			"flag":       "not a bool",
		},
		Attestations: []Attestation{{PredicateType: slsa, SignerIdentity: "https://b", SignerIssuer: "https://i"}},
	}
	tests := []struct {
		name    string
		expr    string
		message string
		in      Input
		opts    []Option
		passed  bool
		want    string // message, or its prefix for evaluation errors
	}{
		{name: "true", expr: `image.digest.startsWith("sha256:") && image.repository + ":v1" == image.ref`, passed: true},
		{name: "false, default message", expr: `image.ref.endsWith(":latest")`, want: `rule "r0" failed`},
		{name: "false, message", expr: `image.ref.endsWith(":latest")`, message: "only latest", want: "only latest"},
		{name: "provenance", expr: `provenance.runDetails.builder.id == "https://b"`, passed: true},
		{name: "attestations", expr: `attestations.exists(a, a.predicateType == "` + slsa +
			`" && a.signerIdentity == "https://b" && a.signerIssuer == "https://i")`, passed: true},
		{name: "image config null", expr: `image.config == null && image.manifest == null`, passed: true},
		{name: "sbom null", expr: `sbom == null`, passed: true},
		{name: "missing key fails closed", expr: `provenance.buildDefinition.buildType == "x"`,
			want: "evaluate: no such key: buildDefinition"},
		{name: "negated missing key fails closed", expr: `provenance.buildDefinition.buildType != "x"`,
			want: "evaluate: no such key: buildDefinition"},
		{name: "null input fails closed", expr: `sbom.packages.size() == 0`, want: "evaluate: "},
		{name: "has", expr: `!has(provenance.buildDefinition) && has(provenance.runDetails.builder)`, passed: true},
		{name: "optional", expr: `provenance.?buildDefinition.?buildType.orValue("none") == "none"`, passed: true},
		{name: "heterogeneous equality", expr: `provenance.flag != true`, passed: true},
		{name: "no overload fails closed", expr: `provenance.flag && true`, want: "evaluate: no such overload"},
		{name: "strings ext", expr: `"a,b".split(",") == ["a", "b"] && "X".lowerAscii() == "x"`, passed: true},
		{name: "lists ext", expr: `lists.range(3) == [0, 1, 2] && [[1], [2]].flatten() == [1, 2]`, passed: true},
		{name: "sets ext", expr: `sets.contains(["a", "b"], ["b"]) && sets.intersects(["a"], ["a", "c"])`, passed: true},
		{name: "bindings ext", expr: `cel.bind(id, provenance.runDetails.builder.id, id.startsWith("https://"))`, passed: true},
		{name: "regexp", expr: `image.ref.matches("^registry\\.example/")`, passed: true},
		{name: "JSON numbers", expr: `provenance.n == 3 && provenance.n > 2 && provenance.l[1] == "b"`, passed: true,
			in: Input{Provenance: map[string]any{"n": 3, "l": []string{"a", "b"}}}},
		{name: "typed nil map is null", expr: `provenance.m == null`, passed: true,
			in: Input{Provenance: map[string]any{"m": map[string]string(nil)}}},
		{name: "unconvertible input fails closed", expr: `true`,
			in: Input{Provenance: map[string]any{"f": func() {}}}, want: "evaluate: convert provenance to JSON: "},
		{name: "cost limit", expr: `lists.range(1000).all(i, i >= 0)`, opts: []Option{WithCostLimit(100)},
			want: "evaluate: operation cancelled: actual cost limit exceeded"},
		// Only the cost limit may stop it: under -race on a loaded machine the
		// default rule timeout came first.
		{name: "default cost limit", expr: `lists.range(2000).all(i, lists.range(2000).all(j, i + j >= 0))`,
			opts: []Option{WithRuleTimeout(time.Hour)},
			want: "evaluate: operation cancelled: actual cost limit exceeded"},
		{name: "deadline", expr: `lists.range(20000).all(i, lists.range(20000).all(j, i + j >= 0))`,
			opts: []Option{WithCostLimit(1 << 62), WithRuleTimeout(time.Millisecond)},
			want: "evaluate: operation interrupted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := rulesDoc(tt.expr)
			if tt.message != "" {
				d += "      message: " + tt.message + "\n"
			}
			p := mustLoad(t, d, tt.opts...)
			input := in
			if tt.in.Provenance != nil {
				input = tt.in
			}
			got := p.Evaluate(t.Context(), input)
			if len(got) != 1 || got[0].Name != "r0" {
				t.Fatalf("Evaluate = %+v, want one result for r0", got)
			}
			if got[0].Passed != tt.passed || !strings.HasPrefix(got[0].Message, tt.want) || (tt.want == "" && got[0].Message != "") {
				t.Errorf("Evaluate = %+v, want passed %t, message %q", got[0], tt.passed, tt.want)
			}
		})
	}
}

func TestEvaluateCanceled(t *testing.T) {
	p := mustLoad(t, rulesDoc("true", "image.ref != ''"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, r := range p.Evaluate(ctx, Input{}) {
		if r.Passed || r.Message != "evaluate: context canceled" {
			t.Errorf("result %+v, want a failure for the canceled context", r)
		}
	}
}

func TestPodRules(t *testing.T) {
	tests := []struct {
		expr string
		pod  bool
	}{
		{`pod.spec.containers.size() > 0`, true},
		{`has(pod.metadata.labels)`, true},
		{`pod.?spec.hasValue()`, true},
		{`image.ref != "" && [pod].size() == 1`, true},
		{`[1].exists(x, x == 1) || pod == null`, true},
		{`[pod].all(p, p != null)`, true},
		{`[1].all(pod, pod > 0)`, false},
		{`[1].all(pod, pod > 0) && pod != null`, true},
		{`cel.bind(pod, 1, pod == 1)`, false},
		{`cel.bind(x, pod, x != null)`, true},
		{`{"pod": 1}["pod"] == 1`, false},
		{`image.ref.contains("pod")`, false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			p := mustLoad(t, rulesDoc(tt.expr))
			if p.HasPodRules() != tt.pod {
				t.Errorf("HasPodRules = %t, want %t", p.HasPodRules(), tt.pod)
			}
		})
	}
}

func TestEvaluatePod(t *testing.T) {
	p := mustLoad(t, doc(`  requirePredicateTypes: [`+slsa+`]
  rules:
    - name: image-rule
      expression: image.ref != ""
    - name: pod-labelled
      expression: pod.metadata.labels.team != ""
      message: pods need a team label
    - name: image-rule-2
      expression: "true"
    - name: pod-namespace
      expression: pod.metadata.namespace != "default"
`))
	if !p.HasPodRules() {
		t.Fatal("HasPodRules = false")
	}
	in := Input{Image: Image{Ref: "r"}, Attestations: []Attestation{{PredicateType: slsa}}}
	if got, want := names(p.Evaluate(t.Context(), in)), []string{"requirePredicateType:" + slsa, "image-rule", "image-rule-2"}; !slices.Equal(got, want) {
		t.Errorf("Evaluate ran %q, want %q", got, want)
	}
	tests := []struct {
		name string
		pod  map[string]any
		want []RuleResult
	}{
		{"no pod", nil, []RuleResult{
			{Name: "pod-labelled", Message: "no Pod to evaluate: the rule references pod, which is set only during admission"},
			{Name: "pod-namespace", Message: "no Pod to evaluate: the rule references pod, which is set only during admission"},
		}},
		{"good pod", map[string]any{"metadata": map[string]any{"namespace": "apps", "labels": map[string]any{"team": "a"}}},
			[]RuleResult{{Name: "pod-labelled", Passed: true}, {Name: "pod-namespace", Passed: true}}},
		{"bad pod", map[string]any{"metadata": map[string]any{"namespace": "default", "labels": map[string]any{"team": ""}}},
			[]RuleResult{{Name: "pod-labelled", Message: "pods need a team label"}, {Name: "pod-namespace", Message: `rule "pod-namespace" failed`}}},
		{"unlabelled pod", map[string]any{"metadata": map[string]any{"namespace": "apps"}},
			[]RuleResult{{Name: "pod-labelled", Message: "evaluate: no such key: labels"}, {Name: "pod-namespace", Passed: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := in
			in.Pod = tt.pod
			if got := p.EvaluatePod(t.Context(), in); !slices.Equal(got, tt.want) {
				t.Errorf("EvaluatePod =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
	if got := mustLoad(t, rulesDoc("true")).EvaluatePod(t.Context(), Input{Pod: map[string]any{}}); len(got) != 0 {
		t.Errorf("EvaluatePod without pod rules = %+v", got)
	}
}

func TestEvaluateConcurrent(t *testing.T) {
	p := mustLoad(t, doc(`  requirePredicateTypes: [`+slsa+`]
  rules:
    - name: even
      expression: int(provenance.n) % 2 == 0
`))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				n := i*50 + j
				in := Input{Provenance: map[string]any{"n": float64(n)}, Attestations: []Attestation{{PredicateType: slsa}}}
				r := resultsByName(p.Evaluate(t.Context(), in))
				if got, want := r["even"].Passed, n%2 == 0; got != want {
					t.Errorf("n=%d: even = %t (%s)", n, got, r["even"].Message)
				}
			}
		})
	}
	wg.Wait()
}

func ExamplePolicy_Evaluate() {
	p, err := Load([]byte(`apiVersion: hallmark.dev/v1
kind: Policy
metadata: {name: example}
spec:
  signers: [{issuer: "https://issuer.example", subject: "https://hallmark.example/builders/prod"}]
  builders: [https://hallmark.example/builders/prod]
  rules:
    - name: git-source
      expression: has(provenance.buildDefinition.externalParameters.source.git)
      message: images must be built from git
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	results := p.Evaluate(context.Background(), Input{Provenance: map[string]any{
		"buildDefinition": map[string]any{"externalParameters": map[string]any{
			"source": map[string]any{"context": map[string]any{"digest": "sha256:…"}}}},
		"runDetails": map[string]any{"builder": map[string]any{"id": "https://hallmark.example/builders/prod"}},
	}})
	for _, r := range results {
		if r.Passed {
			fmt.Printf("%s: passed\n", r.Name)
		} else {
			fmt.Printf("%s: failed: %s\n", r.Name, r.Message)
		}
	}
	// Output:
	// builders: passed
	// git-source: failed: images must be built from git
}

func TestReadsImage(t *testing.T) {
	for _, tt := range []struct {
		expr string
		want bool // ReadsImage: an image rule reads it
		any  bool // RulesReadImage: any rule does
	}{
		{`provenance.buildDefinition.buildType != ""`, false, false},
		{`!image.ref.endsWith(":latest")`, true, true},
		{`image.config.User != "root"`, true, true},
		{`has(image.ref)`, true, true},
		{`image["con" + "fig"] != null`, true, true},
		{`[1, 2].all(image, image > 0)`, false, false}, // a comprehension variable named image
		{`pod.spec.containers.all(c, c.image != "")`, false, false},
		{`pod.spec.containers.all(c, c.image != "") && image.config.User != "root"`, false, true}, // a Pod rule
	} {
		p := mustLoad(t, rulesDoc(tt.expr))
		if got := p.ReadsImage(); got != tt.want {
			t.Errorf("ReadsImage(%s) = %v, want %v", tt.expr, got, tt.want)
		}
		if got := p.RulesReadImage(); got != tt.any {
			t.Errorf("RulesReadImage(%s) = %v, want %v", tt.expr, got, tt.any)
		}
	}
}
