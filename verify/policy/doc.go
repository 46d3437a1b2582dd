// Package policy loads and evaluates Hallmark verification policies: what
// an image must prove before it may run.
//
// # Documents
//
// A policy is one YAML (or JSON) document, apiVersion hallmark.dev/v1, kind
// Policy:
//
//	apiVersion: hallmark.dev/v1
//	kind: Policy
//	metadata:
//	  name: gateway-built            # [a-z0-9]([-a-z0-9.]*[a-z0-9])?, at most 63
//	spec:
//	  trustedRoot: trusted_root.json # optional, relative to the policy file
//	  signers:                       # at least one
//	    - issuer: https://token.actions.githubusercontent.com
//	      subjectRegExp: https://github\.com/acme/.+
//	  builders: [https://hallmark.dev/builders/prod]
//	  requirePredicateTypes: [https://slsa.dev/provenance/v1]
//	  rules:
//	    - name: git-source
//	      expression: has(provenance.buildDefinition.externalParameters.source.git)
//	      message: images must be built from git
//	  admission:
//	    mode: enforce                # or warn
//	    disable: [readOnlyRootFilesystem]
//	    allowCapabilities: [NET_BIND_SERVICE]
//
// [Load] and [LoadFile] read documents strictly: at most 1 MiB (see
// [WithMaxBytes]; larger documents fail with hallmark.ErrTooLarge), one YAML
// document, no duplicate keys, no unknown fields (the error names the field's
// path, e.g. `spec.signers[0]: unknown field "isuer"`). Every other problem
// fails with hallmark.ErrInvalid and names the field; all problems of a
// document are reported together.
//
// Signer regular expressions use RE2 syntax and are anchored: issuerRegExp
// "re" matches the whole issuer, as "^(?:re)$" would. A signer that sets both
// an exact value and a regexp for the same field requires both to match.
// [Policy.AnchoredSigners] returns the signers with the anchors written out,
// for matchers (such as sigstore-go's certificate identities) that search
// instead of matching whole strings.
//
// # Rules
//
// Rules are CEL expressions (https://cel.dev) of type bool; a rule passes
// when it evaluates to true. Their variables are JSON values (maps, lists,
// strings, doubles, bools and null):
//
//	provenance    map or null  the SLSA Provenance v1 predicate (buildDefinition, runDetails)
//	sbom          map or null  the SPDX 2.3 JSON document (packages, relationships, …)
//	image         map          ref, digest, repository, config (map or null), manifest (map or null)
//	attestations  list of map  predicateType, signerIdentity, signerIssuer of each verified attestation
//	pod           map or null  the Pod under admission; null outside admission
//
// The standard library is extended with cel-go's strings, lists, sets and
// bindings (cel.bind) extensions and optional types
// (`provenance.?runDetails.?builder.?id.orValue("")`).
//
// A rule whose expression references pod is a pod rule: it runs only during
// admission ([Policy.EvaluatePod]); every other rule runs in
// [Policy.Evaluate]. The classification is made once, from the type-checked
// expression.
//
// Rules fail closed: a rule that evaluates to false fails with its message
// (by default `rule "<name>" failed`), and so does a rule whose evaluation
// fails for any reason (a missing key, a type mismatch, the cost limit
// [WithCostLimit], the per-rule deadline [WithRuleTimeout] or a canceled
// context), with the message "evaluate: <error>". Use has() or optional
// selection to test fields that may be absent.
//
// # Built-in rules
//
// Evaluate reports, in this order: "requirePredicateType:<type>" for each of
// spec.requirePredicateTypes (passes if a verified attestation has that
// predicate type), "builders" if spec.builders is set (passes if the
// verified provenance's runDetails.builder.id is one of them), then the CEL
// rules that are not pod rules, in document order. Signer identities are
// checked when attestations are verified, before rules run.
//
// # Admission
//
// spec.admission configures the Kubernetes admission webhook (package
// verify/admission): the mode ("enforce" denies, "warn" admits with
// warnings; the default is enforce), hygiene rules switched off by name (see
// [HygieneRules]) and capabilities containers may add (upper case, with or
// without the CAP_ prefix, stored without it).
//
// # Identity
//
// [Policy.Hash] identifies what a policy requires: the SHA-256 of the JSON
// encoding of the normalized document plus the resolved trusted root path.
// It does not change when the YAML is reformatted or its keys reordered, and
// changes with any requirement. Verdict caches key on it.
//
// A Policy is immutable and safe for concurrent use.
package policy
