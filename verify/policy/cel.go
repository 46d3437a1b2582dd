package policy

import (
	"fmt"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/ext"
)

// Names of the CEL variables.
const (
	VarProvenance   = "provenance"
	VarSBOM         = "sbom"
	VarImage        = "image"
	VarAttestations = "attestations"
	VarPod          = "pod"
	VarVulns        = "vulns"
	VarNow          = "now"
)

const (
	// interruptCheckFrequency is how many comprehension iterations run
	// between checks of the rule's deadline.
	interruptCheckFrequency = 100
	// maxRangeSize bounds lists.range().
	maxRangeSize = 100_000
)

// celEnv is the environment every rule is compiled in; a cel.Env is safe
// for concurrent use.
var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	jsonObject := cel.MapType(cel.StringType, cel.DynType)
	return cel.NewEnv(
		cel.Variable(VarProvenance, cel.DynType),
		cel.Variable(VarSBOM, cel.DynType),
		cel.Variable(VarImage, jsonObject),
		cel.Variable(VarAttestations, cel.ListType(jsonObject)),
		cel.Variable(VarPod, cel.DynType),
		cel.Variable(VarVulns, cel.DynType),
		cel.Variable(VarNow, cel.TimestampType),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Lists(ext.ListsMaxRangeSize(maxRangeSize)),
		ext.Sets(),
		ext.Bindings(),
	)
})

// rule is a compiled CEL rule.
type rule struct {
	name    string
	message string
	prg     cel.Program
	pod     bool // references the pod variable
	image   bool // references the image variable
}

// compileRule parses and type-checks a rule and plans its program.
func compileRule(r Rule, o options) (*rule, error) {
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("create CEL environment: %w", err)
	}
	ast, iss := env.Compile(r.Expression)
	if err := iss.Err(); err != nil {
		return nil, err
	}
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("has type %s, want bool (compare explicitly, e.g. `x == true`)", t)
	}
	prg, err := env.Program(ast,
		cel.CostLimit(o.costLimit),
		cel.InterruptCheckFrequency(interruptCheckFrequency))
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	msg := r.Message
	if msg == "" {
		msg = fmt.Sprintf("rule %q failed", r.Name)
	}
	native := ast.NativeRep()
	return &rule{name: r.Name, message: msg, prg: prg, pod: references(native, VarPod), image: references(native, VarImage)}, nil
}

// references reports whether the checked expression reads the variable
// name. Comprehension variables of that name (`x.all(pod, …)`) shadow it
// and do not count.
func references(a *celast.AST, name string) bool {
	refs := a.ReferenceMap()
	var walk func(e celast.Expr, shadowed bool) bool
	walkAll := func(es []celast.Expr, shadowed bool) bool {
		for _, e := range es {
			if walk(e, shadowed) {
				return true
			}
		}
		return false
	}
	walk = func(e celast.Expr, shadowed bool) bool {
		if e == nil {
			return false
		}
		switch e.Kind() {
		case celast.IdentKind:
			if shadowed && !strings.HasPrefix(e.AsIdent(), ".") {
				return false
			}
			ref, ok := refs[e.ID()]
			return ok && ref.Name == name
		case celast.SelectKind:
			return walk(e.AsSelect().Operand(), shadowed)
		case celast.CallKind:
			c := e.AsCall()
			if c.IsMemberFunction() && walk(c.Target(), shadowed) {
				return true
			}
			return walkAll(c.Args(), shadowed)
		case celast.ListKind:
			return walkAll(e.AsList().Elements(), shadowed)
		case celast.MapKind:
			for _, entry := range e.AsMap().Entries() {
				m := entry.AsMapEntry()
				if walk(m.Key(), shadowed) || walk(m.Value(), shadowed) {
					return true
				}
			}
		case celast.StructKind:
			for _, f := range e.AsStruct().Fields() {
				if walk(f.AsStructField().Value(), shadowed) {
					return true
				}
			}
		case celast.ComprehensionKind:
			c := e.AsComprehension()
			if walk(c.IterRange(), shadowed) || walk(c.AccuInit(), shadowed) {
				return true
			}
			inner := shadowed || c.IterVar() == name || c.AccuVar() == name ||
				(c.HasIterVar2() && c.IterVar2() == name)
			return walkAll([]celast.Expr{c.LoopCondition(), c.LoopStep(), c.Result()}, inner)
		}
		return false
	}
	return walk(a.Expr(), false)
}
