package policy

import "time"

// APIVersion and Kind identify a policy document.
const (
	APIVersion = "hallmark.dev/v1"
	Kind       = "Policy"
)

// Names of the admission hygiene rules (package verify/admission implements
// them). Each is on by default; Admission.Disable switches one off.
const (
	RuleNoPrivileged           = "noPrivileged"
	RuleRunAsNonRoot           = "runAsNonRoot"
	RuleNoPrivilegeEscalation  = "noPrivilegeEscalation"
	RuleDropAllCapabilities    = "dropAllCapabilities"
	RuleReadOnlyRootFilesystem = "readOnlyRootFilesystem"
	RuleSeccompRuntimeDefault  = "seccompRuntimeDefault"
	RuleNoLatestTag            = "noLatestTag"
	RuleNoSecretEnv            = "noSecretEnv"
)

// HygieneRules lists every admission hygiene rule name.
var HygieneRules = []string{
	RuleNoPrivileged, RuleRunAsNonRoot, RuleNoPrivilegeEscalation, RuleDropAllCapabilities,
	RuleReadOnlyRootFilesystem, RuleSeccompRuntimeDefault, RuleNoLatestTag, RuleNoSecretEnv,
}

// Admission modes.
const (
	ModeEnforce = "enforce"
	ModeWarn    = "warn"
)

// Document is a policy file as written: apiVersion hallmark.dev/v1, kind
// Policy.
type Document struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`
}

// Metadata names a policy.
type Metadata struct {
	// Name identifies the policy in requests (--policy NAME) and verdicts.
	Name string `json:"name"`
}

// Spec is what a policy requires of an image.
type Spec struct {
	// TrustedRoot is the path of a sigstore-go trusted_root.json, relative
	// to the policy file; empty means the gateway's (or the CLI's) trusted
	// root.
	TrustedRoot string `json:"trustedRoot,omitempty"`
	// Signers are the certificate identities whose attestations count; at
	// least one is required.
	Signers []Signer `json:"signers"`
	// Builders, if set, are the allowed SLSA provenance builder ids
	// (runDetails.builder.id); a verified provenance is then required.
	Builders []string `json:"builders,omitempty"`
	// RequirePredicateTypes lists predicate types that must each have at
	// least one verified attestation.
	RequirePredicateTypes []string `json:"requirePredicateTypes,omitempty"`
	// Rules are CEL expressions that must evaluate to true.
	Rules []Rule `json:"rules,omitempty"`
	// Admission configures the Kubernetes admission webhook.
	Admission Admission `json:"admission,omitempty"`
}

// Signer is an allowed Fulcio certificate identity: OIDC issuer and subject
// (SAN), each exact, an anchored RE2 regexp, or both.
type Signer struct {
	Issuer        string `json:"issuer,omitempty"`
	IssuerRegExp  string `json:"issuerRegExp,omitempty"`
	Subject       string `json:"subject,omitempty"`
	SubjectRegExp string `json:"subjectRegExp,omitempty"`
}

// Rule is one CEL rule. Expression must have type bool; true passes.
type Rule struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
	// Message explains a failure; the default names the rule.
	Message string `json:"message,omitempty"`
}

// Admission configures the admission webhook for this policy.
type Admission struct {
	// Mode is "enforce" (deny) or "warn" (admit with warnings). The default
	// is enforce.
	Mode string `json:"mode,omitempty"`
	// Disable switches off hygiene rules by name (see HygieneRules).
	Disable []string `json:"disable,omitempty"`
	// AllowCapabilities are the capabilities containers may add when
	// dropAllCapabilities is on.
	AllowCapabilities []string `json:"allowCapabilities,omitempty"`
}

// Input is what rules see. Maps are JSON objects as decoded by
// encoding/json (map[string]any, []any, float64, string, bool, nil).
type Input struct {
	// Image is the image under verification.
	Image Image
	// Provenance is the predicate of the newest verified SLSA provenance
	// v1 attestation, nil if there is none.
	Provenance map[string]any
	// SBOM is the predicate of the newest verified SPDX attestation, nil if
	// there is none.
	SBOM map[string]any
	// Vulns is the newest verified vulnerability scan (in-toto vulns
	// v0.1) as rules see it (verify's vulnsInput), nil if there is none.
	Vulns map[string]any
	// Attestations are the verified attestations.
	Attestations []Attestation
	// Pod is the Pod (or workload Pod template spec wrapped as a Pod)
	// under admission; nil outside admission.
	Pod map[string]any
	// Now is the evaluation's time, the rules' "now"; zero is time.Now().
	Now time.Time
}

// Image describes the image to rules.
type Image struct {
	// Ref is the reference as given; Digest "sha256:<hex>"; Repository
	// "registry/repository".
	Ref, Digest, Repository string
	// Config and Manifest are the image config and manifest JSON, nil if
	// not fetched.
	Config, Manifest map[string]any
}

// Attestation is one verified attestation, as rules see it.
type Attestation struct {
	PredicateType, SignerIdentity, SignerIssuer string
}

// RuleResult is the outcome of one rule (built-in or CEL).
type RuleResult struct {
	// Name is the rule's name; built-ins are "signers",
	// "requirePredicateType:<type>" and "builders".
	Name string
	// Passed says the rule held.
	Passed bool
	// Message explains a failure (or an evaluation error, which fails the
	// rule: policies fail closed).
	Message string
}
