package secretscan

import (
	"errors"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Credential-shaped test values, split so that this file does not trip
// secret scanners itself.
var (
	testAWSKeyID   = "AKIA" + "Q3EGRL7VXN4WZ5TY"
	testGitHub     = "ghp_" + strings.Repeat("aB3d", 9)
	testGitHubPAT  = "github_pat_" + strings.Repeat("11ABCDEFG0", 8) + "xy"
	testGitLab     = "glpat-" + "x9Yz8Wv7Ut6Sr5Qp4On3"
	testSlack      = "xoxb-" + "123456789012-abcdefABCDEF"
	testNPM        = "npm_" + strings.Repeat("a1B2c3", 6)
	testJWT        = "eyJhbGciOiJSUzI1NiJ9" + "." + "eyJzdWIiOiJjaS1ib3QifQ" + "." + "c2lnbmF0dXJlLXNpZ25hdHVyZQ"
	testPEMHeader  = "-----BEGIN " + "RSA PRIVATE KEY-----"
	testAWSSecret  = "aws_secret_access_key = " + "Zx9" + strings.Repeat("kP2/mQ7+", 4) + "Ab3cD"
	testAWSExample = "AKIA" + "IOSFODNN7EXAMPLE"
)

func TestCredentialName(t *testing.T) {
	tests := map[string]bool{
		// credential names
		"API_TOKEN": true, "NPM_TOKEN": true, "npm_token": true, "GITHUB_TOKEN": true, "TOKEN": true, "NPMTOKEN": true,
		"DB_PASSWORD": true, "PASSWORD_HASH": true, "MYSQL_ROOT_PASSWD": true, "CLIENT_SECRET": true, "SECRETS": true,
		"STRIPE_API_KEY": true, "APIKEY": true, "AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true,
		"SSH_PRIVATE_KEY": true, "GOOGLE_APPLICATION_CREDENTIALS_JSON": true, "REGISTRY_CREDENTIAL": true,
		// not credentials
		"GOFLAGS": false, "TOKEN_URL": false, "TOKENIZER_MODE": false, "TOKENS_PER_MINUTE": false, "APP_VERSION": false,
		"DB_PASSWORD_FILE": false, "SECRETS_DIR": false, "SECRET_NAME": false, "CREDENTIALS_PATH": false,
		"PASSWORD_RESET_URL": false, "GPG_KEY": false, "KEY": false, "AUTH": false, "PUBLIC_KEY": false, "": false,
	}
	for name, want := range tests {
		if _, got := credentialName(name); got != want {
			t.Errorf("credentialName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestValueRules(t *testing.T) {
	tests := []struct {
		value string
		rule  string // "" for no match
	}{
		{testAWSKeyID, "aws-access-key-id"},
		{"ASIA" + "Q3EGRL7VXN4WZ5TY", "aws-access-key-id"},
		{"key=" + testAWSKeyID + ";", "aws-access-key-id"},
		{testAWSExample, ""},
		{"AKIA" + "Q3EGRL7VXN4WZ5T", ""},           // too short
		{"XAKIA" + "Q3EGRL7VXN4WZ5TY", ""},         // inside a word
		{testAWSSecret, "aws-secret-access-key"},   // assignment
		{"aws_secret_access_key = ${AWS_KEY}", ""}, // a reference
		{testPEMHeader + "\nMIIE...", "private-key"},
		{"-----BEGIN OPENSSH PRIVATE KEY-----", "private-key"},
		{"-----BEGIN ENCRYPTED PRIVATE KEY-----", "private-key"},
		{"-----BEGIN PGP PRIVATE KEY BLOCK-----", "private-key"},
		{"-----BEGIN PUBLIC KEY-----", ""},
		{"-----BEGIN CERTIFICATE-----", ""},
		{"the PRIVATE KEY goes in a secret", ""},
		{testGitHub, "github-token"},
		{"gho_" + strings.Repeat("x", 36), "github-token"},
		{testGitHubPAT, "github-token"},
		{"ghp_short", ""},
		{testGitLab, "gitlab-token"},
		{"glpat-short", ""},
		{testSlack, "slack-token"},
		{"xoxz-123456789012", ""},
		{testNPM, "npm-token"},
		{"npm_install_flags", ""},
		{testJWT, "jwt"},
		{"eyJhbGciOi.not-a-jwt", ""},
		{"https://example.com/token", ""},
		{"1.26.8", ""},
	}
	for _, tt := range tests {
		r, ok := findValue(valueRules, []byte(tt.value))
		if got := map[bool]string{true: r.id}[ok]; got != tt.rule {
			t.Errorf("findValue(%.30q) = %q, want %q", tt.value, got, tt.rule)
		}
	}
}

func TestCheckBuildArgs(t *testing.T) {
	tests := []struct {
		name string
		args map[string]string
		want []string // substrings of the error; none means accepted
	}{
		{name: "none"},
		{name: "ordinary", args: map[string]string{"GOFLAGS": "-mod=mod", "TOKEN_URL": "https://auth.example.com/token", "VERSION": "1.2", "TOKENIZER_MODE": "fast"}},
		{name: "empty credential", args: map[string]string{"API_TOKEN": ""}},
		{name: "path to a credential", args: map[string]string{"NPM_PASSWORD_FILE": "/run/secrets/npm"}},
		{name: "token name", args: map[string]string{"API_TOKEN": "hunter2"}, want: []string{`build arg "API_TOKEN" looks like a credential (its name ends in TOKEN)`, "--secret"}},
		{name: "password name", args: map[string]string{"db_password": "hunter2"}, want: []string{`"db_password"`, "contains PASSWORD"}},
		{name: "value under an innocent name", args: map[string]string{"GREETING": testGitHub}, want: []string{`the value of build arg "GREETING" looks like a GitHub token (rule github-token)`}},
		{name: "jwt value", args: map[string]string{"X": testJWT}, want: []string{"JSON Web Token"}},
		{name: "pem value", args: map[string]string{"KEY": testPEMHeader + "\\nMIIE"}, want: []string{"private key"}},
		{name: "aws value", args: map[string]string{"ID": testAWSKeyID}, want: []string{"AWS access key id"}},
		{name: "all are named, sorted", args: map[string]string{"Z_SECRET": "a", "A_TOKEN": "b"}, want: []string{`"A_TOKEN" looks like a credential (its name ends in TOKEN); build arg "Z_SECRET"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckBuildArgs(tt.args)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckBuildArgs = %v", err)
				}
				return
			}
			if !errors.Is(err, hallmark.ErrInvalid) {
				t.Fatalf("CheckBuildArgs = %v, want ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, v := range tt.args {
				if len(v) > 3 && strings.Contains(err.Error(), v) {
					t.Errorf("error %q reveals a value", err)
				}
			}
		})
	}
}
