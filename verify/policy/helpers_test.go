package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// doc returns a policy document with the given spec body (indented two
// spaces) after a valid signer.
func doc(spec string) string {
	return "apiVersion: hallmark.dev/v1\nkind: Policy\nmetadata:\n  name: test\nspec:\n" +
		"  signers:\n    - issuer: https://issuer.example\n      subject: builder\n" + spec
}

// rulesDoc returns a policy with one rule per expression, named r0, r1, ….
func rulesDoc(exprs ...string) string {
	var b strings.Builder
	b.WriteString("  rules:\n")
	for i, e := range exprs {
		fmt.Fprintf(&b, "    - name: r%d\n", i)
		js, _ := json.Marshal(e)
		b.WriteString("      expression: " + string(js) + "\n")
	}
	return doc(b.String())
}

func mustLoad(t *testing.T, yaml string, opts ...Option) *Policy {
	t.Helper()
	p, err := Load([]byte(yaml), opts...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

// readJSON reads a JSON object from a file under the repository root.
func readJSON(t *testing.T, rel string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return m
}

func resultsByName(rs []RuleResult) map[string]RuleResult {
	m := make(map[string]RuleResult, len(rs))
	for _, r := range rs {
		m[r.Name] = r
	}
	return m
}

func names(rs []RuleResult) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}
