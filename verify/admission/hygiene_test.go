package admission

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

func TestHygiene(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name  string
		rule  string
		edit  func(c *corev1.Container, spec *corev1.PodSpec)
		user  string // image config user; "-" for no config
		caps  []string
		want  string // the failure, "" to pass
		where string // the container named, default `container "app"`
	}{
		{"privileged", policy.RuleNoPrivileged, func(c *corev1.Container, _ *corev1.PodSpec) { c.SecurityContext.Privileged = ptr(true) }, "", nil, "securityContext.privileged is true", ""},
		{"privileged false", policy.RuleNoPrivileged, func(c *corev1.Container, _ *corev1.PodSpec) { c.SecurityContext.Privileged = ptr(false) }, "", nil, "", ""},

		{"runAsNonRoot on container", policy.RuleRunAsNonRoot, nil, "root", nil, "", ""},
		{"runAsNonRoot on pod", policy.RuleRunAsNonRoot, func(c *corev1.Container, s *corev1.PodSpec) {
			c.SecurityContext.RunAsNonRoot = nil
			s.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)}
		}, "root", nil, "", ""},
		{"container overrides pod runAsNonRoot", policy.RuleRunAsNonRoot, func(c *corev1.Container, s *corev1.PodSpec) {
			c.SecurityContext.RunAsNonRoot = ptr(false)
			s.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)}
		}, "0:0", nil, `the image runs as "0:0" (root)`, ""},
		{"runAsUser 1000", policy.RuleRunAsNonRoot, func(c *corev1.Container, _ *corev1.PodSpec) {
			c.SecurityContext.RunAsNonRoot, c.SecurityContext.RunAsUser = nil, ptr(int64(1000))
		}, "root", nil, "", ""},
		{"pod runAsUser 1000", policy.RuleRunAsNonRoot, func(c *corev1.Container, s *corev1.PodSpec) {
			c.SecurityContext.RunAsNonRoot = nil
			s.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr(int64(1000))}
		}, "", nil, "", ""},
		{"runAsUser 0 despite runAsNonRoot", policy.RuleRunAsNonRoot, func(c *corev1.Container, _ *corev1.PodSpec) {
			c.SecurityContext.RunAsUser = ptr(int64(0))
		}, "1000", nil, "runAsUser is 0 (root)", ""},
		{"pod runAsUser 0", policy.RuleRunAsNonRoot, func(c *corev1.Container, s *corev1.PodSpec) {
			c.SecurityContext.RunAsNonRoot = nil
			s.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr(int64(0))}
		}, "1000", nil, "runAsUser is 0 (root)", ""},
		{"container runAsUser overrides pod 0", policy.RuleRunAsNonRoot, func(c *corev1.Container, s *corev1.PodSpec) {
			c.SecurityContext.RunAsNonRoot, c.SecurityContext.RunAsUser = nil, ptr(int64(10))
			s.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr(int64(0))}
		}, "", nil, "", ""},
		{"image user nonroot", policy.RuleRunAsNonRoot, noRunAs, "65532:65532", nil, "", ""},
		{"image user named", policy.RuleRunAsNonRoot, noRunAs, "nobody", nil, "", ""},
		{"image user empty", policy.RuleRunAsNonRoot, noRunAs, "", nil, `the image runs as "" (root)`, ""},
		{"image user root", policy.RuleRunAsNonRoot, noRunAs, "root", nil, `the image runs as "root" (root)`, ""},
		{"image user 0", policy.RuleRunAsNonRoot, noRunAs, "0", nil, "(root)", ""},
		{"image user root:root", policy.RuleRunAsNonRoot, noRunAs, "root:root", nil, "(root)", ""},
		{"image user 000:1000", policy.RuleRunAsNonRoot, noRunAs, "000:1000", nil, "(root)", ""},
		{"image config missing", policy.RuleRunAsNonRoot, noRunAs, "-", nil, "the image's user is unknown", ""},

		{"escalation unset", policy.RuleNoPrivilegeEscalation, func(c *corev1.Container, _ *corev1.PodSpec) { c.SecurityContext.AllowPrivilegeEscalation = nil }, "", nil, "allowPrivilegeEscalation is not false", ""},
		{"escalation true", policy.RuleNoPrivilegeEscalation, func(c *corev1.Container, _ *corev1.PodSpec) { c.SecurityContext.AllowPrivilegeEscalation = ptr(true) }, "", nil, "allowPrivilegeEscalation is not false", ""},

		{"no drop", policy.RuleDropAllCapabilities, func(c *corev1.Container, _ *corev1.PodSpec) { c.SecurityContext.Capabilities = nil }, "", nil, "capabilities.drop does not contain ALL", ""},
		{"drop some", policy.RuleDropAllCapabilities, func(c *corev1.Container, _ *corev1.PodSpec) {
			c.SecurityContext.Capabilities.Drop = []corev1.Capability{"NET_RAW"}
		}, "", nil, "capabilities.drop does not contain ALL", ""},
		{"drop all lower case", policy.RuleDropAllCapabilities, func(c *corev1.Container, _ *corev1.PodSpec) {
			c.SecurityContext.Capabilities.Drop = []corev1.Capability{"all"}
		}, "", nil, "", ""},
		{"add allowed", policy.RuleDropAllCapabilities, func(c *corev1.Container, _ *corev1.PodSpec) {
			c.SecurityContext.Capabilities.Add = []corev1.Capability{"CAP_NET_BIND_SERVICE", "chown"}
		}, "", []string{"net_bind_service", "CAP_CHOWN"}, "", ""},
		{"add not allowed", policy.RuleDropAllCapabilities, func(c *corev1.Container, _ *corev1.PodSpec) {
			c.SecurityContext.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE", "SYS_ADMIN"}
		}, "", []string{"NET_BIND_SERVICE"}, `capability "SYS_ADMIN" is added but not allowed`, ""},

		{"writable root", policy.RuleReadOnlyRootFilesystem, func(c *corev1.Container, _ *corev1.PodSpec) { c.SecurityContext.ReadOnlyRootFilesystem = ptr(false) }, "", nil, "readOnlyRootFilesystem is not true", ""},
		{"no security context", policy.RuleReadOnlyRootFilesystem, func(c *corev1.Container, _ *corev1.PodSpec) { c.SecurityContext = nil }, "1000", nil, "readOnlyRootFilesystem is not true", ""},

		{"seccomp unset", policy.RuleSeccompRuntimeDefault, func(c *corev1.Container, _ *corev1.PodSpec) { c.SecurityContext.SeccompProfile = nil }, "", nil, "seccompProfile is not set", ""},
		{"seccomp from pod", policy.RuleSeccompRuntimeDefault, func(c *corev1.Container, s *corev1.PodSpec) {
			c.SecurityContext.SeccompProfile = nil
			s.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
		}, "", nil, "", ""},
		{"seccomp container overrides pod", policy.RuleSeccompRuntimeDefault, func(c *corev1.Container, s *corev1.PodSpec) {
			c.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
			s.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
		}, "", nil, `seccompProfile.type is "Unconfined"`, ""},
		{"seccomp localhost", policy.RuleSeccompRuntimeDefault, func(c *corev1.Container, _ *corev1.PodSpec) {
			c.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr("p.json")}
		}, "", nil, `seccompProfile.type is "Localhost" (want RuntimeDefault)`, ""},

		{"no tag", policy.RuleNoLatestTag, func(c *corev1.Container, _ *corev1.PodSpec) { c.Image = "reg/app" }, "", nil, `image "reg/app" has no tag or digest`, ""},
		{"registry port no tag", policy.RuleNoLatestTag, func(c *corev1.Container, _ *corev1.PodSpec) { c.Image = "reg:5000/app" }, "", nil, "has no tag or digest", ""},
		{"registry port tag", policy.RuleNoLatestTag, func(c *corev1.Container, _ *corev1.PodSpec) { c.Image = "reg:5000/app:v1" }, "", nil, "", ""},
		{"latest", policy.RuleNoLatestTag, func(c *corev1.Container, _ *corev1.PodSpec) { c.Image = "reg/app:latest" }, "", nil, "uses the latest tag", ""},
		{"digest", policy.RuleNoLatestTag, func(c *corev1.Container, _ *corev1.PodSpec) { c.Image = "reg/app@" + digest }, "", nil, "", ""},
		{"latest with digest", policy.RuleNoLatestTag, func(c *corev1.Container, _ *corev1.PodSpec) { c.Image = "reg/app:latest@" + digest }, "", nil, "", ""},
		{"invalid reference", policy.RuleNoLatestTag, func(c *corev1.Container, _ *corev1.PodSpec) { c.Image = "Reg/App:!" }, "", nil, "is not a valid reference", ""},

		{"secret env", policy.RuleNoSecretEnv, func(c *corev1.Container, _ *corev1.PodSpec) {
			c.Env = []corev1.EnvVar{{Name: "DB_PASSWORD", Value: "s3cr3t!"}}
		}, "", nil, `env "DB_PASSWORD" has a literal value that may be a secret, judging by its name (use valueFrom.secretKeyRef)`, ""},
		{"secret env from secret", policy.RuleNoSecretEnv, func(c *corev1.Container, _ *corev1.PodSpec) {
			c.Env = []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "pw"}}}}
		}, "", nil, "", ""},
		{"secret env in init container", policy.RuleNoSecretEnv, func(_ *corev1.Container, s *corev1.PodSpec) {
			c := goodContainer("setup", "reg/app:v1")
			c.Env = []corev1.EnvVar{{Name: "X", Value: "AKIAABCDEFGHIJKLMNOP"}}
			s.InitContainers = append(s.InitContainers, c)
		}, "", nil, `env "X" has a literal value that looks like an AWS access key id`, `init container "setup"`},
		{"privileged ephemeral container", policy.RuleNoPrivileged, func(_ *corev1.Container, s *corev1.PodSpec) {
			c := goodContainer("debug", "reg/app:v1")
			c.SecurityContext.Privileged = ptr(true)
			s.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: c.Name, Image: c.Image, SecurityContext: c.SecurityContext,
			}}}
		}, "", nil, "securityContext.privileged is true", `ephemeral container "debug"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := goodContainer("app", "reg/app:v1")
			spec := podSpec()
			if tt.edit != nil {
				tt.edit(&c, &spec)
			}
			spec.Containers = []corev1.Container{c}
			f := &fakeVerifier{verify: func(_ context.Context, ref string) (*verify.Verdict, error) {
				v := allowed(ref, tt.user)
				if tt.user == "-" {
					v.Input.Image.Config = nil
				}
				return v, nil
			}}
			// Only the rule under test is on.
			p := noHygiene(newPolicy())
			delete(p.disabled, tt.rule)
			p.caps = tt.caps
			resp := admit(t, newWebhook(t, f, p).Validate(), request(t, podKind, newPod(spec)))
			if tt.want == "" {
				if !resp.Allowed {
					t.Fatalf("denied: %s", msg(resp))
				}
				return
			}
			where := tt.where
			if where == "" {
				where = `container "app"`
			}
			prefix := where + ": rule \"" + tt.rule + "\": "
			if m := msg(resp); resp.Allowed || !strings.HasPrefix(m, prefix) || !strings.Contains(m, tt.want) {
				t.Fatalf("got allowed=%v %q, want a denial starting %q, containing %q", resp.Allowed, m, prefix, tt.want)
			}
			// Disabled, the rule passes.
			p.disabled[tt.rule] = true
			if resp := admit(t, newWebhook(t, f, p).Validate(), request(t, podKind, newPod(spec))); !resp.Allowed {
				t.Fatalf("denied with %s disabled: %s", tt.rule, msg(resp))
			}
		})
	}
}

// noRunAs leaves the user to the image.
func noRunAs(c *corev1.Container, _ *corev1.PodSpec) { c.SecurityContext.RunAsNonRoot = nil }

func TestHygieneAllRules(t *testing.T) {
	c := corev1.Container{Name: "app", Image: "reg/app:latest", Env: []corev1.EnvVar{{Name: "API_KEY", Value: "abc123def456"}}}
	resp := admit(t, newWebhook(t, &fakeVerifier{}, newPolicy()).Validate(), request(t, podKind, newPod(podSpec(c))))
	for _, rule := range policy.HygieneRules {
		if rule == policy.RuleNoPrivileged || rule == policy.RuleRunAsNonRoot { // unset: passes; the image user is 65532
			continue
		}
		if !strings.Contains(msg(resp), `rule "`+rule+`"`) {
			t.Errorf("message lacks rule %s: %s", rule, msg(resp))
		}
	}
	if strings.Contains(msg(resp), "abc123") {
		t.Fatal("secret value in message")
	}
}

func TestIsRoot(t *testing.T) {
	for user, want := range map[string]bool{
		"": true, "root": true, "0": true, "0:0": true, "root:root": true, "00": true, "0:1000": true, " 0 ": true,
		"1000": false, "65532:65532": false, "nobody": false, "app:root": false, "1000:0": false,
	} {
		if got := isRoot(user); got != want {
			t.Errorf("isRoot(%q) = %v, want %v", user, got, want)
		}
	}
}
