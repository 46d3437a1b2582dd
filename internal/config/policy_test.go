package config

import (
	"slices"
	"strings"
	"testing"
)

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
