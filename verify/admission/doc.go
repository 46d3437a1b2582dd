// Package admission is Hallmark's Kubernetes admission webhook: plain
// net/http handlers (TLS is the caller's) that answer admission.k8s.io/v1
// AdmissionReviews for Pods and the workloads that template them.
//
// Validate is a ValidatingAdmissionWebhook; Mutate checks the same way and,
// when it admits, pins every image that is not pinned by digest to the
// digest it verified, with a JSON Patch.
//
// # Requests
//
// Only POST with Content-Type application/json is served (405, 415), the
// body is limited (413, WithMaxBodyBytes), and it must be an
// admission.k8s.io/v1 AdmissionReview with a request and a uid (400
// otherwise). Every other answer is an AdmissionReview v1 carrying the
// request's uid.
//
// The request's kind chooses the object: Pod (v1); Deployment,
// StatefulSet, DaemonSet, ReplicaSet (apps/v1); Job, CronJob (batch/v1).
// Other kinds are admitted unchecked: the webhook configuration's rules
// decide what is sent. DELETE and CONNECT are admitted; dry-run requests are
// checked like any other. Subresources are admitted unchecked except a
// Pod's ephemeralcontainers. An object of a checked kind that does not
// decode, or that has no containers, is denied in every mode (fail closed).
//
// # Checks
//
// Every container, init container and ephemeral container counts. The
// distinct image references are verified once each, in parallel
// (WithParallelism), by an ImageVerifier, all under one deadline
// (WithTimeout); a review with more than 64 distinct images is denied
// unverified. An image that could not be verified (an error, or the
// deadline) denies the review: the webhook fails closed itself, because a
// configuration's failurePolicy applies only when the webhook fails to
// answer. An image whose verdict denies it denies the review with the
// failed rules. When the Policy has Pod rules, they are evaluated for each
// allowed image with the verdict's Input and the Pod (for a workload, a Pod
// made of its template's metadata and spec).
//
// Hygiene rules (policy.HygieneRules, each switched by
// Policy.HygieneEnabled) check each container's security context, falling
// back to the Pod's where Kubernetes does (runAsUser, runAsNonRoot,
// seccompProfile): noPrivileged, runAsNonRoot (explicit runAsUser 0 always
// fails; with no runAsUser, the verified image's config user decides),
// noPrivilegeEscalation, dropAllCapabilities (added capabilities must be
// allowed by the policy), readOnlyRootFilesystem, seccompRuntimeDefault
// (Localhost profiles are not accepted), noLatestTag and noSecretEnv
// (literal env values that look like secrets; the values are never
// reported or logged).
//
// # Answers
//
// In enforce mode a violation denies with status code 403 and a bounded
// message naming each image or container and rule. In warn mode the review
// is admitted with the violations as warnings (at most 16, each at most
// 256 bytes), and so is a review whose images could not be verified.
package admission
