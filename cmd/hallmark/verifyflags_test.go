package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/internal/devstack"
	"github.com/hallmark-dev/hallmark/verify"
)

// envOf returns a lookupEnv over m.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func runningStack(st devstack.State) stackLoader {
	return func() (devstack.State, error) { return st, nil }
}

func stoppedStack() (devstack.State, error) { return devstack.State{}, devstack.ErrNotRunning }

func TestVerifyFlagDefaults(t *testing.T) {
	stack := devstack.State{TrustedRoot: "/stack/trusted_root.json", Issuer: "http://127.0.0.1:7435"}
	env := map[string]string{
		"HALLMARK_TRUSTED_ROOT":    "/env/trusted_root.json",
		"HALLMARK_SIGNER_IDENTITY": "https://env.example/builder",
		"HALLMARK_SIGNER_ISSUER":   "https://env.example/issuer",
	}
	brokenStack := func() (devstack.State, error) { return devstack.State{}, errors.New("parse dev stack state: bad json") }
	tests := []struct {
		name    string
		flags   verifyFlags
		env     map[string]string
		stack   stackLoader
		want    verifyConfig
		wantErr string
	}{
		{
			name:  "flags win",
			flags: verifyFlags{trustedRoot: "/flag/tr.json", identity: "https://flag/id", issuer: "https://flag/iss"},
			env:   env, stack: runningStack(stack),
			want: verifyConfig{trustedRoot: "/flag/tr.json", identity: verify.Identity{SubjectAlternativeName: "https://flag/id", Issuer: "https://flag/iss"}},
		},
		{
			name:  "regexp flags also suppress the defaults",
			flags: verifyFlags{trustedRoot: "/flag/tr.json", identityRegexp: "https://flag/.*", issuerRegexp: "https://iss/.*"},
			env:   env, stack: runningStack(stack),
			want: verifyConfig{trustedRoot: "/flag/tr.json", identity: verify.Identity{SANRegexp: "https://flag/.*", IssuerRegexp: "https://iss/.*"}},
		},
		{
			name: "environment",
			env:  env, stack: runningStack(stack),
			want: verifyConfig{trustedRoot: "/env/trusted_root.json", identity: verify.Identity{SubjectAlternativeName: "https://env.example/builder", Issuer: "https://env.example/issuer"}},
		},
		{
			name: "dev stack",
			env:  map[string]string{}, stack: runningStack(stack),
			want: verifyConfig{trustedRoot: "/stack/trusted_root.json", identity: verify.Identity{SubjectAlternativeName: devstack.BuilderID, Issuer: "http://127.0.0.1:7435"}},
		},
		{
			name:  "environment and dev stack mixed",
			flags: verifyFlags{identity: "https://flag/id"},
			env:   map[string]string{"HALLMARK_TRUSTED_ROOT": "/env/tr.json"}, stack: runningStack(stack),
			want: verifyConfig{trustedRoot: "/env/tr.json", identity: verify.Identity{SubjectAlternativeName: "https://flag/id", Issuer: "http://127.0.0.1:7435"}},
		},
		{
			name: "nothing",
			env:  map[string]string{}, stack: stoppedStack,
			wantErr: "find trusted root: pass --trusted-root FILE, set HALLMARK_TRUSTED_ROOT, or start a dev stack",
		},
		{
			name:  "no identity",
			flags: verifyFlags{trustedRoot: "/flag/tr.json", issuer: "https://flag/iss"},
			env:   map[string]string{}, stack: stoppedStack,
			wantErr: "find signer identity: pass --certificate-identity, set HALLMARK_SIGNER_IDENTITY",
		},
		{
			name:  "no issuer",
			flags: verifyFlags{trustedRoot: "/flag/tr.json", identity: "https://flag/id"},
			env:   map[string]string{}, stack: stoppedStack,
			wantErr: "find signer issuer: pass --certificate-oidc-issuer",
		},
		{
			name: "broken dev stack state",
			env:  map[string]string{}, stack: brokenStack,
			wantErr: "find trusted root: parse dev stack state: bad json (or pass --trusted-root FILE",
		},
		{
			name:  "unknown output",
			flags: verifyFlags{output: "yaml"},
			env:   env, stack: runningStack(stack),
			wantErr: `parse --output: unknown format "yaml", want text or json`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stackReads := 0
			f := tt.flags
			f.outputs = []string{"text", "json"}
			if f.output == "" {
				f.output = "text"
			}
			got, err := f.resolve(verifyEnv{lookupEnv: envOf(tt.env), stack: func() (devstack.State, error) {
				stackReads++
				return tt.stack()
			}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("resolve = %+v, want %+v", got, tt.want)
			}
			if stackReads > 1 || (tt.name == "flags win" && stackReads != 0) {
				t.Errorf("the dev stack state was read %d times", stackReads)
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	in := "a\nverified\tx\x1b[31mred\r"
	if got := oneLine(in); got != "a verified x\uFFFD[31mred " {
		t.Errorf("oneLine(%q) = %q", in, got)
	}
	if got := printable("a\n\x07b"); got != "a\n\uFFFDb" {
		t.Errorf("printable = %q", got)
	}
}
