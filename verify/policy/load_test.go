package policy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark"
)

func TestLoadErrors(t *testing.T) {
	header := "apiVersion: hallmark.dev/v1\nkind: Policy\nmetadata:\n  name: test\n"
	signer := "spec:\n  signers: [{issuer: i, subject: s}]\n"
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the error
	}{
		{"empty", "", []string{"empty document"}},
		{"comment only", "# nothing\n", []string{"empty document"}},
		{"not an object", "- a\n- b\n", []string{"document: want an object, got a list"}},
		{"YAML syntax", "apiVersion: [\n", []string{"parse YAML"}},
		{"duplicate key", header + "kind: Policy\n" + signer, []string{`key "kind" already set`}},
		{"two documents", header + signer + "---\n" + header + signer, []string{"2 YAML documents"}},
		{"unknown top field", header + signer + "status: {}\n", []string{`document: unknown field "status"`}},
		{"unknown nested field", header + "spec:\n  signers: [{isuer: i, subject: s}]\n",
			[]string{`spec.signers[0]: unknown field "isuer"`}},
		{"field case", header + "spec:\n  Signers: [{issuer: i, subject: s}]\n", []string{`spec: unknown field "Signers"`}},
		{"unknown admission field", doc("  admission: {mode: warn, privileged: true}\n"),
			[]string{`spec.admission: unknown field "privileged"`}},
		{"wrong kind of value", doc("  builders: https://b\n"), []string{"spec.builders: want a list, got string \"https://b\""}},
		{"number for string", header + "spec:\n  signers: [{issuer: 7, subject: s}]\n",
			[]string{"spec.signers[0].issuer: want a string, got number 7"}},
		{"apiVersion", strings.Replace(doc(""), "hallmark.dev/v1", "hallmark.dev/v2", 1),
			[]string{`apiVersion: got "hallmark.dev/v2", want "hallmark.dev/v1"`}},
		{"kind", strings.Replace(doc(""), "kind: Policy", "kind: Pod", 1), []string{`kind: got "Pod", want "Policy"`}},
		{"no name", strings.Replace(doc(""), "name: test", "name: ''", 1), []string{"metadata.name: required"}},
		{"bad name", strings.Replace(doc(""), "name: test", "name: Test_1", 1), []string{`metadata.name: "Test_1"`}},
		{"name ends with dash", strings.Replace(doc(""), "name: test", "name: test-", 1), []string{`metadata.name: "test-"`}},
		{"long name", strings.Replace(doc(""), "name: test", "name: "+strings.Repeat("a", 64), 1),
			[]string{"longer than 63"}},
		{"no signers", header + "spec: {}\n", []string{"spec.signers: at least one signer is required"}},
		{"signer without issuer", header + "spec:\n  signers: [{subject: s}]\n",
			[]string{"spec.signers[0]: issuer or issuerRegExp is required"}},
		{"signer without subject", header + "spec:\n  signers: [{issuer: i}]\n",
			[]string{"spec.signers[0]: subject or subjectRegExp is required"}},
		{"bad regexp", doc("    - issuer: i\n      subjectRegExp: '('\n"),
			[]string{`spec.signers[1]: subjectRegExp "(": error parsing regexp: missing closing )`}},
		{"bad issuer regexp", doc("    - issuerRegExp: 'a**'\n      subject: s\n"),
			[]string{`spec.signers[1]: issuerRegExp "a**"`}},
		{"empty builder", doc("  builders: ['']\n"), []string{"spec.builders[0]: empty"}},
		{"spaced builder", doc("  builders: [' https://b']\n"), []string{"leading or trailing space"}},
		{"duplicate predicate type", doc("  requirePredicateTypes: [a, b, a]\n"),
			[]string{`spec.requirePredicateTypes[2]: "a" is listed twice`}},
		{"rule without name", doc("  rules: [{expression: 'true'}]\n"), []string{"spec.rules[0]: name is required"}},
		{"rule with bad name", doc("  rules: [{name: 'a b', expression: 'true'}]\n"), []string{`spec.rules[0] "a b": name: want`}},
		{"rule named like a built-in", doc("  rules: [{name: builders, expression: 'true'}]\n"),
			[]string{`"builders" is a built-in rule`}},
		{"duplicate rule", doc("  rules: [{name: a, expression: 'true'}, {name: a, expression: 'false'}]\n"),
			[]string{`spec.rules[1] "a": name: another rule has this name`}},
		{"rule without expression", doc("  rules: [{name: a}]\n"), []string{`spec.rules[0] "a": expression is required`}},
		{"syntax error", doc("  rules: [{name: a, expression: 'true'}, {name: base-allowlist, expression: 'size(sbom.)'}]\n"),
			[]string{`spec.rules[1] "base-allowlist": expression: ERROR: <input>:1:11: Syntax error`}},
		{"syntax error on line 2", doc("  rules:\n    - name: a\n      expression: |\n        true &&\n        1 +\n"),
			[]string{`spec.rules[0] "a": expression: ERROR: <input>:2:4: Syntax error`}},
		{"undeclared variable", doc("  rules: [{name: a, expression: 'image.ref == ref'}]\n"),
			[]string{`spec.rules[0] "a": expression: ERROR: <input>:1:14: undeclared reference to 'ref'`}},
		{"non-bool", doc("  rules: [{name: a, expression: 'size(attestations)'}]\n"),
			[]string{`spec.rules[0] "a": expression: has type int, want bool`}},
		{"dyn is not bool", doc("  rules: [{name: a, expression: 'provenance.ok'}]\n"), []string{"has type dyn, want bool"}},
		{"long expression", doc("  rules: [{name: a, expression: 'true" + strings.Repeat(" && true", maxExpressionLen/8) + "'}]\n"),
			[]string{"expression is longer than"}},
		{"bad mode", doc("  admission: {mode: audit}\n"), []string{`spec.admission.mode: got "audit", want "enforce" or "warn"`}},
		{"unknown hygiene rule", doc("  admission: {disable: [noPrivileged, noRoot]}\n"),
			[]string{`spec.admission.disable[1]: unknown hygiene rule "noRoot"`}},
		{"lower-case capability", doc("  admission: {allowCapabilities: [net_bind_service]}\n"),
			[]string{`spec.admission.allowCapabilities[0]: "net_bind_service"`}},
		{"capability ALL", doc("  admission: {allowCapabilities: [CAP_ALL]}\n"), []string{"ALL may not be allowed"}},
		{"NUL in trusted root", doc("  trustedRoot: \"a\\0b\"\n"), []string{"spec.trustedRoot: contains a NUL byte"}},
		{"every problem reported", header + "spec:\n  signers: [{issuer: i}]\n  admission: {mode: x}\n",
			[]string{"spec.signers[0]: subject", "spec.admission.mode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte(tt.doc))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !errors.Is(err, hallmark.ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadTooLarge(t *testing.T) {
	big := doc("") + "# " + strings.Repeat("x", DefaultMaxBytes) + "\n"
	if _, err := Load([]byte(big)); !errors.Is(err, hallmark.ErrTooLarge) {
		t.Errorf("Load(%d bytes) = %v, want ErrTooLarge", len(big), err)
	}
	if _, err := Load([]byte(doc("")), WithMaxBytes(100)); !errors.Is(err, hallmark.ErrTooLarge) {
		t.Errorf("Load with WithMaxBytes(100) = %v, want ErrTooLarge", err)
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path); !errors.Is(err, hallmark.ErrTooLarge) {
		t.Errorf("LoadFile = %v, want ErrTooLarge", err)
	}
}

func TestOptionErrors(t *testing.T) {
	for name, opt := range map[string]Option{
		"WithBaseDir":     WithBaseDir(""),
		"WithMaxBytes":    WithMaxBytes(0),
		"WithCostLimit":   WithCostLimit(0),
		"WithRuleTimeout": WithRuleTimeout(-1),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Load([]byte(doc("")), opt); !errors.Is(err, hallmark.ErrInvalid) {
				t.Errorf("Load = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestLoadNormalizes(t *testing.T) {
	p := mustLoad(t, doc(`    - issuerRegExp: 'https://token\.actions\.githubusercontent\.com'
      subjectRegExp: 'https://github\.com/acme/.+'
  builders: [https://b1, https://b2]
  requirePredicateTypes: [https://slsa.dev/provenance/v1]
  rules:
    - name: tagged
      expression: image.ref.endsWith(":v1")
  admission:
    disable: [readOnlyRootFilesystem, noLatestTag, readOnlyRootFilesystem]
    allowCapabilities: [CAP_NET_BIND_SERVICE, CHOWN, NET_BIND_SERVICE]
`))
	if got := p.Name(); got != "test" {
		t.Errorf("Name = %q", got)
	}
	if got := p.Mode(); got != ModeEnforce {
		t.Errorf("Mode = %q, want the default %q", got, ModeEnforce)
	}
	if got, want := p.AllowedCapabilities(), []string{"CHOWN", "NET_BIND_SERVICE"}; !slices.Equal(got, want) {
		t.Errorf("AllowedCapabilities = %q, want %q", got, want)
	}
	for _, rule := range HygieneRules {
		want := rule != RuleReadOnlyRootFilesystem && rule != RuleNoLatestTag
		if got := p.HygieneEnabled(rule); got != want {
			t.Errorf("HygieneEnabled(%s) = %t, want %t", rule, got, want)
		}
	}
	if p.HygieneEnabled("noSuchRule") {
		t.Error("HygieneEnabled(noSuchRule) = true")
	}
	spec := p.Spec()
	if got, want := spec.Admission.Disable, []string{RuleNoLatestTag, RuleReadOnlyRootFilesystem}; !slices.Equal(got, want) {
		t.Errorf("Spec().Admission.Disable = %q, want %q", got, want)
	}
	spec.Builders[0] = "changed"
	spec.Admission.AllowCapabilities[0] = "changed"
	if p.Spec().Builders[0] != "https://b1" || p.AllowedCapabilities()[0] != "CHOWN" {
		t.Error("Spec() is not a copy")
	}
	if p.TrustedRootPath() != "" {
		t.Errorf("TrustedRootPath = %q, want empty", p.TrustedRootPath())
	}
	if p.HasPodRules() {
		t.Error("HasPodRules = true")
	}
	warn := mustLoad(t, doc("  admission: {mode: warn}\n"))
	if warn.Mode() != ModeWarn {
		t.Errorf("Mode = %q, want warn", warn.Mode())
	}
}

func TestSigners(t *testing.T) {
	p := mustLoad(t, doc(`    - issuerRegExp: 'http://127\.0\.0\.1:[0-9]+'
      subject: https://hallmark.dev/builders/dev
    - issuer: https://token.actions.githubusercontent.com
      subjectRegExp: 'https://github\.com/acme/[^/]+/\.github/workflows/release\.yml@refs/tags/v.*'
`))
	tests := []struct {
		issuer, subject string
		want            bool
	}{
		{"https://issuer.example", "builder", true},
		{"https://issuer.example", "builder2", false},
		{"http://127.0.0.1:7435", "https://hallmark.dev/builders/dev", true},
		{"http://127.0.0.1:7435.evil.example", "https://hallmark.dev/builders/dev", false},
		{"xhttp://127.0.0.1:7435", "https://hallmark.dev/builders/dev", false},
		{"http://127.0.0.1:7435", "https://hallmark.dev/builders/prod", false},
		{"https://token.actions.githubusercontent.com",
			"https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3", true},
		{"https://token.actions.githubusercontent.com",
			"https://github.com/evil/x?https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1", false},
	}
	for _, tt := range tests {
		if got := p.MatchSigner(tt.issuer, tt.subject); got != tt.want {
			t.Errorf("MatchSigner(%q, %q) = %t, want %t", tt.issuer, tt.subject, got, tt.want)
		}
	}
	anchored := p.AnchoredSigners()
	if got, want := anchored[1].IssuerRegExp, `^(?:http://127\.0\.0\.1:[0-9]+)$`; got != want {
		t.Errorf("AnchoredSigners()[1].IssuerRegExp = %q, want %q", got, want)
	}
	if anchored[0].IssuerRegExp != "" || anchored[1].Subject != "https://hallmark.dev/builders/dev" {
		t.Errorf("AnchoredSigners changed other fields: %+v", anchored)
	}
}

func TestTrustedRoot(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(path, []byte(doc("  trustedRoot: roots/trusted_root.json\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := LoadFile(path, WithBaseDir("/elsewhere"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.TrustedRootPath(), filepath.Join(dir, "roots", "trusted_root.json"); got != want {
		t.Errorf("LoadFile: TrustedRootPath = %q, want %q", got, want)
	}
	if got := p.Spec().TrustedRoot; got != "roots/trusted_root.json" {
		t.Errorf("Spec().TrustedRoot = %q, want it as written", got)
	}
	base := t.TempDir()
	p2 := mustLoad(t, doc("  trustedRoot: roots/trusted_root.json\n"), WithBaseDir(base))
	if got, want := p2.TrustedRootPath(), filepath.Join(base, "roots", "trusted_root.json"); got != want {
		t.Errorf("Load WithBaseDir: TrustedRootPath = %q, want %q", got, want)
	}
	if p.Hash() == p2.Hash() {
		t.Error("policies with different trusted roots have the same hash")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	p3 := mustLoad(t, doc("  trustedRoot: trusted_root.json\n"))
	if got, want := p3.TrustedRootPath(), filepath.Join(wd, "trusted_root.json"); got != want {
		t.Errorf("Load: TrustedRootPath = %q, want %q", got, want)
	}
	p4 := mustLoad(t, doc("  trustedRoot: /etc/hallmark/trusted_root.json\n"), WithBaseDir(base))
	if got := p4.TrustedRootPath(); got != "/etc/hallmark/trusted_root.json" {
		t.Errorf("absolute: TrustedRootPath = %q", got)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFile(missing) = %v, want ErrNotExist", err)
	}
}

func TestHash(t *testing.T) {
	base := doc(`  builders: [https://b]
  rules:
    - name: a
      expression: size(attestations) > 0
`)
	same := map[string]string{
		"reformatted": `# a comment
kind: Policy
apiVersion: "hallmark.dev/v1"
spec:
  rules: [{expression: "size(attestations) > 0", name: a}]
  builders:
  - "https://b"
  signers: [{subject: builder, issuer: "https://issuer.example"}]
metadata: {name: test}
`,
		"JSON": `{"apiVersion":"hallmark.dev/v1","kind":"Policy","metadata":{"name":"test"},"spec":{` +
			`"signers":[{"issuer":"https://issuer.example","subject":"builder"}],"builders":["https://b"],` +
			`"rules":[{"name":"a","expression":"size(attestations) > 0"}]}}`,
		"default mode written": base + "  admission: {mode: enforce}\n",
		"block scalar": strings.Replace(base, "expression: size(attestations) > 0",
			"expression: |\n        size(attestations) > 0\n", 1),
	}
	different := map[string]string{
		"name":       strings.Replace(base, "name: test", "name: test2", 1),
		"builder":    strings.Replace(base, "https://b]", "https://c]", 1),
		"expression": strings.Replace(base, "> 0", ">= 1", 1),
		"message":    base + "      message: nope\n",
		"signer":     strings.Replace(base, "subject: builder", "subject: builder2", 1),
		"mode":       base + "  admission: {mode: warn}\n",
		"disable":    base + "  admission: {disable: [noSecretEnv]}\n",
		"root":       base + "  trustedRoot: /r.json\n",
	}
	want := mustLoad(t, base).Hash()
	if !strings.HasPrefix(want, "sha256:") || len(want) != len("sha256:")+64 {
		t.Fatalf("Hash = %q", want)
	}
	for name, d := range same {
		t.Run("same/"+name, func(t *testing.T) {
			if got := mustLoad(t, d).Hash(); got != want {
				t.Errorf("Hash = %s, want %s", got, want)
			}
		})
	}
	caps := []string{
		mustLoad(t, doc("  admission: {allowCapabilities: [CAP_CHOWN, NET_RAW]}\n")).Hash(),
		mustLoad(t, doc("  admission: {allowCapabilities: [NET_RAW, CHOWN, CHOWN]}\n")).Hash(),
	}
	if caps[0] != caps[1] {
		t.Error("equivalent capability lists hash differently")
	}
	seen := map[string]string{want: "base"}
	for name, d := range different {
		t.Run("different/"+name, func(t *testing.T) {
			got := mustLoad(t, d).Hash()
			if prev, ok := seen[got]; ok {
				t.Errorf("Hash equals that of %s", prev)
			}
			seen[got] = name
		})
	}
}
