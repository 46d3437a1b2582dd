package config

import (
	"slices"
	"strings"
	"testing"
)

// fakeDigest is the hex of a sha256 digest.
var fakeDigest = strings.Repeat("ab", 32)

func TestPolicyConfig(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Policy; p.BaseImages.Mode != "pin" || len(p.BaseImages.Allow) != 0 || p.SecretScan.Disabled || len(p.SecretScan.AllowPaths) != 0 || p.AllowRootUnsafe {
		t.Errorf("default policy = %+v", p)
	}

	c, err = Load(writeConfig(t, issuers+`
policy:
  baseImages:
    allow: ["127.0.0.1:*/hallmark/*", "docker.io/library/*", "registry.example.com/base/**"]
    mode: require-digest
  secretScan:
    allowPaths: [/etc/ssl/private/ssl-cert-snakeoil.key, "env:SECRET_KEY_BASE_DUMMY"]
`))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Policy
	if p.BaseImages.Mode != "require-digest" || !slices.Equal(p.BaseImages.Allow, []string{"127.0.0.1:*/hallmark/*", "docker.io/library/*", "registry.example.com/base/**"}) ||
		!slices.Equal(p.SecretScan.AllowPaths, []string{"/etc/ssl/private/ssl-cert-snakeoil.key", "env:SECRET_KEY_BASE_DUMMY"}) {
		t.Errorf("policy = %+v", p)
	}

	c, err = Load(writeConfig(t, issuers+"policy:\n  frontends: [\"docker.io/docker/dockerfile:1.7@sha256:"+fakeDigest+"\", \"registry.example.com/fe@sha256:"+fakeDigest+"\"]\n"))
	if err != nil || !slices.Equal(c.Policy.Frontends, []string{"docker.io/docker/dockerfile:1.7@sha256:" + fakeDigest, "registry.example.com/fe@sha256:" + fakeDigest}) {
		t.Errorf("frontends = %q, %v", c.Policy.Frontends, err)
	}
	if len(Default().Policy.Frontends) != 0 {
		t.Errorf("default frontends = %q, want none", Default().Policy.Frontends)
	}

	// A file that sets only the allowlist keeps the default mode.
	c, err = Load(writeConfig(t, issuers+"policy:\n  baseImages:\n    allow: [docker.io/library/*]\n"))
	if err != nil || c.Policy.BaseImages.Mode != "pin" {
		t.Errorf("mode = %q, %v; want the default pin", c.Policy.BaseImages.Mode, err)
	}
}

func TestPolicyConfigMistakes(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // the first names the field path
	}{
		{name: "bad allow pattern", yaml: "policy:\n  baseImages:\n    allow: [docker.io/*, ghcr.io/*, \"[\"]\n",
			want: []string{`policy.baseImages.allow[2]: bad pattern "[": syntax error in pattern`}},
		{name: "empty allow pattern", yaml: "policy:\n  baseImages:\n    allow: [\"\"]\n", want: []string{"policy.baseImages.allow[0]: empty pattern"}},
		{name: "misplaced **", yaml: "policy:\n  baseImages:\n    allow: [docker.io/**x]\n", want: []string{"policy.baseImages.allow[0]: ", "whole path segment"}},
		{name: "unknown mode", yaml: "policy:\n  baseImages:\n    mode: trust\n", want: []string{`policy.baseImages.mode: "trust" is not pin or require-digest`}},
		{name: "empty mode", yaml: "policy:\n  baseImages:\n    mode: \"\"\n", want: []string{"policy.baseImages.mode: "}},
		{name: "bad allow path", yaml: "policy:\n  secretScan:\n    allowPaths: [/ok, \"/a/[\"]\n", want: []string{"policy.secretScan.allowPaths[1]: ", `"/a/["`}},
		{name: "unknown policy field", yaml: "policy:\n  baseImages:\n    allowed: [x]\n", want: []string{"policy.baseImages.allowed: unknown field"}},
		{name: "attested bases without policies", yaml: "policy:\n  baseImages:\n    requireAttestation: bases\n",
			want: []string{`policy.baseImages.requireAttestation: names policy "bases", but verify.policies is empty`}},
		{name: "frontend by tag", yaml: "policy:\n  frontends: [docker/dockerfile:1.7]\n",
			want: []string{`policy.frontends[0]: "docker/dockerfile:1.7" is not pinned by digest; write name[:tag]@sha256:<digest>`}},
		{name: "frontend not a reference", yaml: "policy:\n  frontends: [\"docker.io/docker/dockerfile@sha256:" + fakeDigest + "\", \"Docker/Dockerfile\"]\n",
			want: []string{`policy.frontends[1]: "Docker/Dockerfile" is not an image reference`}},
		{name: "frontend short digest", yaml: "policy:\n  frontends: [\"docker/dockerfile@sha256:abc\"]\n",
			want: []string{`policy.frontends[0]: "docker/dockerfile@sha256:abc" is not an image reference`}},
		{name: "unknown secret scan field", yaml: "policy:\n  secretScan:\n    disabled: true\n", want: []string{"policy.secretScan.disabled: unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tt.yaml+issuers))
			if err == nil {
				t.Fatal("loadConfig succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
