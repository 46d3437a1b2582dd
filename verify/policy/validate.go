package policy

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

var (
	policyNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	ruleNameRE   = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	capabilityRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
)

const (
	maxNameLen       = 63
	maxExpressionLen = 32 << 10
)

// builtinNames are result names a rule may not take.
var builtinNames = []string{BuiltinSigners, BuiltinBuilders}

// validator collects the problems of one document.
type validator struct {
	errs []error
}

func (v *validator) addf(path, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: "+format, append([]any{path}, args...)...))
}

func (v *validator) header(doc *Document) {
	if doc.APIVersion != APIVersion {
		v.addf("apiVersion", "got %q, want %q", doc.APIVersion, APIVersion)
	}
	if doc.Kind != Kind {
		v.addf("kind", "got %q, want %q", doc.Kind, Kind)
	}
	switch name := doc.Metadata.Name; {
	case name == "":
		v.addf("metadata.name", "required")
	case len(name) > maxNameLen:
		v.addf("metadata.name", "%q is longer than %d characters", name, maxNameLen)
	case !policyNameRE.MatchString(name):
		v.addf("metadata.name", "%q: want lower-case letters, digits, '-' and '.', starting and ending with a letter or digit", name)
	}
}

// signer is a Signer with its regexps compiled (anchored).
type signer struct {
	Signer
	issuerRE, subjectRE *regexp.Regexp
}

func (s *signer) match(issuer, subject string) bool {
	return (s.Issuer == "" || issuer == s.Issuer) &&
		(s.issuerRE == nil || s.issuerRE.MatchString(issuer)) &&
		(s.Subject == "" || subject == s.Subject) &&
		(s.subjectRE == nil || s.subjectRE.MatchString(subject))
}

func (v *validator) signers(in []Signer) []signer {
	if len(in) == 0 {
		v.addf("spec.signers", "at least one signer is required")
		return nil
	}
	out := make([]signer, 0, len(in))
	for i, s := range in {
		path := fmt.Sprintf("spec.signers[%d]", i)
		if s.Issuer == "" && s.IssuerRegExp == "" {
			v.addf(path, "issuer or issuerRegExp is required")
		}
		if s.Subject == "" && s.SubjectRegExp == "" {
			v.addf(path, "subject or subjectRegExp is required")
		}
		out = append(out, signer{
			Signer:    s,
			issuerRE:  v.regexp(path, "issuerRegExp", s.IssuerRegExp),
			subjectRE: v.regexp(path, "subjectRegExp", s.SubjectRegExp),
		})
	}
	return out
}

// regexp compiles re anchored to the whole string.
func (v *validator) regexp(path, field, re string) *regexp.Regexp {
	if re == "" {
		return nil
	}
	c, err := regexp.Compile(anchor(re))
	if err != nil {
		// Report the error as the author wrote the expression.
		if _, rawErr := regexp.Compile(re); rawErr != nil {
			err = rawErr
		}
		v.addf(path, "%s %q: %v", field, re, err)
		return nil
	}
	return c
}

func anchor(re string) string {
	if re == "" {
		return ""
	}
	return "^(?:" + re + ")$"
}

// strings checks a list of non-empty, unique strings.
func (v *validator) strings(path string, in []string) {
	seen := map[string]bool{}
	for i, s := range in {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case s == "":
			v.addf(p, "empty")
		case strings.TrimSpace(s) != s:
			v.addf(p, "%q has leading or trailing space", s)
		case seen[s]:
			v.addf(p, "%q is listed twice", s)
		}
		seen[s] = true
	}
}

// rules validates and compiles the rules, trimming their expressions and
// messages in place.
func (v *validator) rules(in []Rule, o options) []*rule {
	out := make([]*rule, 0, len(in))
	seen := map[string]bool{}
	for i := range in {
		// Trailing space is formatting (a YAML block scalar adds a
		// newline); it does not change the rule or its hash. Leading
		// space stays, so that error positions match the document.
		in[i].Expression = strings.TrimRight(in[i].Expression, " \t\r\n")
		in[i].Message = strings.TrimSpace(in[i].Message)
		r := in[i]
		path := fmt.Sprintf("spec.rules[%d]", i)
		if r.Name != "" {
			path += fmt.Sprintf(" %q", r.Name)
		}
		switch {
		case r.Name == "":
			v.addf(path, "name is required")
		case len(r.Name) > maxNameLen:
			v.addf(path, "name is longer than %d characters", maxNameLen)
		case !ruleNameRE.MatchString(r.Name):
			v.addf(path, "name: want letters, digits, '-', '_' and '.', starting and ending with a letter or digit")
		case slices.Contains(builtinNames, r.Name):
			v.addf(path, "name: %q is a built-in rule", r.Name)
		case seen[r.Name]:
			v.addf(path, "name: another rule has this name")
		}
		seen[r.Name] = true
		switch {
		case strings.TrimSpace(r.Expression) == "":
			v.addf(path, "expression is required")
			continue
		case len(r.Expression) > maxExpressionLen:
			v.addf(path, "expression is longer than %d bytes", maxExpressionLen)
			continue
		}
		c, err := compileRule(r, o)
		if err != nil {
			v.addf(path, "expression: %v", err)
			continue
		}
		out = append(out, c)
	}
	return out
}

func (v *validator) admission(a *Admission) {
	switch a.Mode {
	case "":
		a.Mode = ModeEnforce
	case ModeEnforce, ModeWarn:
	default:
		v.addf("spec.admission.mode", "got %q, want %q or %q", a.Mode, ModeEnforce, ModeWarn)
	}
	for i, name := range a.Disable {
		if !slices.Contains(HygieneRules, name) {
			v.addf(fmt.Sprintf("spec.admission.disable[%d]", i), "unknown hygiene rule %q (known: %s)",
				name, strings.Join(HygieneRules, ", "))
		}
	}
	a.Disable = sortedSet(a.Disable)
	caps := make([]string, 0, len(a.AllowCapabilities))
	for i, c := range a.AllowCapabilities {
		path := fmt.Sprintf("spec.admission.allowCapabilities[%d]", i)
		name := strings.TrimPrefix(c, "CAP_")
		switch {
		case !capabilityRE.MatchString(name):
			v.addf(path, "%q: want an upper-case capability name such as NET_BIND_SERVICE", c)
		case name == "ALL":
			v.addf(path, "ALL may not be allowed; list each capability")
		}
		caps = append(caps, name)
	}
	a.AllowCapabilities = sortedSet(caps)
}

func sortedSet(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// resolveTrustedRoot returns the absolute path of the trusted root.
func (v *validator) resolveTrustedRoot(tr, baseDir string) string {
	if tr == "" {
		return ""
	}
	if strings.ContainsRune(tr, 0) {
		v.addf("spec.trustedRoot", "contains a NUL byte")
		return ""
	}
	if !filepath.IsAbs(tr) {
		tr = filepath.Join(baseDir, tr)
	}
	abs, err := filepath.Abs(tr)
	if err != nil {
		v.addf("spec.trustedRoot", "resolve %q: %v", tr, err)
		return ""
	}
	return abs
}
