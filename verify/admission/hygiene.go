package admission

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"

	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// check is one hygiene rule over one container: it returns why the
// container fails the rule, or nothing.
type check func(c container, pod *corev1.PodSecurityContext, imageUser imageUser, allowedCaps []string) []string

// checks are the hygiene rules, in the order their failures are reported.
var checks = []struct {
	rule  string
	check check
}{
	{policy.RuleNoPrivileged, checkPrivileged},
	{policy.RuleRunAsNonRoot, checkRunAsNonRoot},
	{policy.RuleNoPrivilegeEscalation, checkPrivilegeEscalation},
	{policy.RuleDropAllCapabilities, checkCapabilities},
	{policy.RuleReadOnlyRootFilesystem, checkReadOnlyRoot},
	{policy.RuleSeccompRuntimeDefault, checkSeccomp},
	{policy.RuleNoLatestTag, checkTag},
	{policy.RuleNoSecretEnv, checkSecretEnv},
}

// imageUser is the user an image runs as by default, from its verified
// config; known is false when the image could not be verified or has no
// config.
type imageUser struct {
	user  string
	known bool
}

// imageUserOf reads config.User of an image config (OCI/Docker JSON).
func imageUserOf(config map[string]any) imageUser {
	if config == nil {
		return imageUser{}
	}
	c, _ := config["config"].(map[string]any)
	u, _ := c["User"].(string) // absent means root
	return imageUser{user: u, known: true}
}

// verdictUser is the user an image runs as: for an index, whose platform
// is unknown until a node pulls it, the user of any platform that runs as
// root, else the first platform's (unknown if any platform's is).
func verdictUser(v *verify.Verdict) imageUser {
	if len(v.Platforms) == 0 {
		return imageUserOf(v.Input.Image.Config)
	}
	var first imageUser
	for i, p := range v.Platforms {
		u := imageUserOf(p.Input.Image.Config)
		if !u.known || isRoot(u.user) {
			return u
		}
		if i == 0 {
			first = u
		}
	}
	return first
}

// isRoot says whether an image's User runs as root: empty, "root" or UID
// 0, with or without a group.
func isRoot(user string) bool {
	u, _, _ := strings.Cut(strings.TrimSpace(user), ":")
	if u == "" || u == "root" {
		return true
	}
	n, err := strconv.ParseUint(u, 10, 64)
	return err == nil && n == 0
}

// hygiene runs the enabled hygiene rules over every container of o.
func (w *Webhook) hygiene(o *object, results map[string]result) []string {
	var enabled []int
	for i, c := range checks {
		if w.policy.HygieneEnabled(c.rule) {
			enabled = append(enabled, i)
		}
	}
	if len(enabled) == 0 {
		return nil
	}
	allowed := w.policy.AllowedCapabilities()
	var violations []string
	for _, c := range o.containers() {
		var user imageUser
		if r := results[c.image]; r.verdict != nil {
			user = verdictUser(r.verdict)
		}
		for _, i := range enabled {
			for _, why := range checks[i].check(c, o.spec.SecurityContext, user, allowed) {
				violations = append(violations, clip(fmt.Sprintf("%s: rule %q: %s", c.what(), checks[i].rule, why), maxViolation))
			}
		}
	}
	return violations
}

func checkPrivileged(c container, _ *corev1.PodSecurityContext, _ imageUser, _ []string) []string {
	if c.sc != nil && c.sc.Privileged != nil && *c.sc.Privileged {
		return []string{"securityContext.privileged is true"}
	}
	return nil
}

// checkRunAsNonRoot passes when the container or the pod sets runAsNonRoot,
// or sets a runAsUser other than 0, or, when neither sets runAsUser, the
// verified image's config names a user other than root. An explicit
// runAsUser 0 always fails.
func checkRunAsNonRoot(c container, pod *corev1.PodSecurityContext, user imageUser, _ []string) []string {
	var uid *int64
	var nonRoot *bool
	if pod != nil {
		uid, nonRoot = pod.RunAsUser, pod.RunAsNonRoot
	}
	if c.sc != nil {
		if c.sc.RunAsUser != nil {
			uid = c.sc.RunAsUser
		}
		if c.sc.RunAsNonRoot != nil {
			nonRoot = c.sc.RunAsNonRoot
		}
	}
	switch {
	case uid != nil && *uid == 0:
		return []string{"runAsUser is 0 (root)"}
	case nonRoot != nil && *nonRoot, uid != nil:
		return nil
	case !user.known:
		return []string{"neither runAsNonRoot nor runAsUser is set and the image's user is unknown"}
	case isRoot(user.user):
		return []string{fmt.Sprintf("neither runAsNonRoot nor runAsUser is set and the image runs as %q (root)", clip(user.user, 64))}
	}
	return nil
}

func checkPrivilegeEscalation(c container, _ *corev1.PodSecurityContext, _ imageUser, _ []string) []string {
	if c.sc == nil || c.sc.AllowPrivilegeEscalation == nil || *c.sc.AllowPrivilegeEscalation {
		return []string{"securityContext.allowPrivilegeEscalation is not false"}
	}
	return nil
}

// capName normalises a capability for comparison: upper case, without the
// CAP_ prefix.
func capName(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	return strings.TrimPrefix(c, "CAP_")
}

func checkCapabilities(c container, _ *corev1.PodSecurityContext, _ imageUser, allowed []string) []string {
	var caps corev1.Capabilities
	if c.sc != nil && c.sc.Capabilities != nil {
		caps = *c.sc.Capabilities
	}
	var why []string
	if !slices.ContainsFunc(caps.Drop, func(d corev1.Capability) bool { return capName(string(d)) == "ALL" }) {
		why = append(why, "securityContext.capabilities.drop does not contain ALL")
	}
	for _, a := range caps.Add {
		if !slices.ContainsFunc(allowed, func(ok string) bool { return capName(ok) == capName(string(a)) }) {
			why = append(why, fmt.Sprintf("capability %q is added but not allowed", clip(string(a), 64)))
		}
	}
	return why
}

func checkReadOnlyRoot(c container, _ *corev1.PodSecurityContext, _ imageUser, _ []string) []string {
	if c.sc == nil || c.sc.ReadOnlyRootFilesystem == nil || !*c.sc.ReadOnlyRootFilesystem {
		return []string{"securityContext.readOnlyRootFilesystem is not true"}
	}
	return nil
}

// checkSeccomp requires the RuntimeDefault profile, the container's or
// else the pod's. Localhost profiles are not accepted: the webhook cannot
// tell what they allow.
func checkSeccomp(c container, pod *corev1.PodSecurityContext, _ imageUser, _ []string) []string {
	var p *corev1.SeccompProfile
	if pod != nil {
		p = pod.SeccompProfile
	}
	if c.sc != nil && c.sc.SeccompProfile != nil {
		p = c.sc.SeccompProfile
	}
	switch {
	case p == nil:
		return []string{"seccompProfile is not set (want RuntimeDefault)"}
	case p.Type != corev1.SeccompProfileTypeRuntimeDefault:
		return []string{fmt.Sprintf("seccompProfile.type is %q (want RuntimeDefault)", clip(string(p.Type), 64))}
	}
	return nil
}

// checkTag requires a digest, or a tag other than latest.
func checkTag(c container, _ *corev1.PodSecurityContext, _ imageUser, _ []string) []string {
	if c.image == "" {
		return nil // reported for every review, whatever the rules
	}
	if strings.Contains(c.image, "@") {
		// Pinned by digest: no tag question. The verifier parses the
		// reference strictly and denies one that is not valid.
		return nil
	}
	ref, err := name.NewTag(c.image)
	if err != nil {
		return []string{fmt.Sprintf("image %q is not a valid reference", clip(c.image, 256))}
	}
	if last := c.image[strings.LastIndex(c.image, "/")+1:]; !strings.Contains(last, ":") {
		return []string{fmt.Sprintf("image %q has no tag or digest (it means latest)", clip(c.image, 256))}
	}
	if ref.Identifier() == "latest" {
		return []string{fmt.Sprintf("image %q uses the latest tag (use a version tag or a digest)", clip(c.image, 256))}
	}
	return nil
}

func checkSecretEnv(c container, _ *corev1.PodSecurityContext, _ imageUser, _ []string) []string {
	var why []string
	for _, e := range c.env {
		if e.Value == "" { // valueFrom, or no value
			continue
		}
		if kind := secretKind(e.Name, e.Value); kind != "" {
			why = append(why, fmt.Sprintf("env %q has a literal value that %s (use valueFrom.secretKeyRef)", clip(e.Name, 128), kind))
		}
	}
	return why
}
