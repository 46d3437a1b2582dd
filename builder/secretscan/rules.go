package secretscan

import (
	"bytes"
	"path"
	"regexp"
	"strings"
)

// The rules below are the secret checks of build args, of image
// environment variables and labels, and of the files in image layers.
// docs/build-policy.md lists them; keep it in step.

// valueRule finds a credential by its shape.
type valueRule struct {
	id    string
	what  string
	re    *regexp.Regexp
	files bool // also applied to file contents
}

// privateKeyHeader is a PEM private key header: PKCS#1 ("RSA"), SEC 1
// ("EC"), PKCS#8 (plain and "ENCRYPTED"), "DSA", "OPENSSH" and PGP armor.
// Public keys and certificates do not match.
const privateKeyHeader = `-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----`

var valueRules = []valueRule{
	{id: "private-key", what: "a PEM private key", re: regexp.MustCompile(privateKeyHeader)},
	{id: "aws-access-key-id", what: "an AWS access key id", re: regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`), files: true},
	{id: "aws-secret-access-key", what: "an AWS secret access key", re: regexp.MustCompile(`(?i)aws_secret_access_key["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{40}`), files: true},
	{id: "github-token", what: "a GitHub token", re: regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{50,})`), files: true},
	{id: "gitlab-token", what: "a GitLab token", re: regexp.MustCompile(`\bglpat-[A-Za-z0-9_-]{20,}`), files: true},
	{id: "slack-token", what: "a Slack token", re: regexp.MustCompile(`\bxox[abpr]-[A-Za-z0-9-]{10,}`), files: true},
	{id: "npm-token", what: "an npm token", re: regexp.MustCompile(`\bnpm_[A-Za-z0-9]{36}\b`), files: true},
	{id: "jwt", what: "a JSON Web Token", re: regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`)},
}

// privateKeyFileRule is the private-key rule for file contents: the header
// must be followed by a base64 body (after optional PEM headers and a blank
// line), so code and documentation that only spell the header do not
// match. Lines may be indented (YAML) or separated by a written "\n" (JSON,
// such as a cloud service account key).
var privateKeyFileRule = valueRule{
	id: "private-key", what: "a PEM private key", files: true,
	re: regexp.MustCompile(privateKeyHeader + pemNewline + `(?:[ \t]*[A-Za-z-]+:[^\n\\]*` + pemNewline + `)*(?:[ \t]*` + pemNewline + `)?[ \t]*[A-Za-z0-9+/=]{40,}`),
}

// pemNewline is a line break, or one written as \n in a string literal.
const pemNewline = `(?:\r?\n|\\(?:r\\)?n)`

// fileValueRules are the rules applied to file contents.
var fileValueRules = func() []valueRule {
	out := []valueRule{privateKeyFileRule}
	for _, r := range valueRules {
		if r.files {
			out = append(out, r)
		}
	}
	return out
}()

// contentHint is a cheap first pass over file contents: no rule can match
// data without one of these.
var contentHint = regexp.MustCompile(`-----BEGIN|AKIA|ASIA|(?i:aws_secret_access_key)|gh[pousr]_|github_pat_|glpat-|xox[abpr]-|npm_`)

// findValue returns the first rule of rules that data matches. Matches
// with "EXAMPLE" in them (AWS's documented example keys) do not count.
func findValue(rules []valueRule, data []byte) (valueRule, bool) {
	for _, r := range rules {
		for _, m := range r.re.FindAll(data, 64) {
			if !bytes.Contains(m, []byte("EXAMPLE")) {
				return r, true
			}
		}
	}
	return valueRule{}, false
}

// Credential-like names of build args and environment variables, compared
// in upper case: a name that ends in TOKEN, or contains one of
// credentialWords, unless it ends in one of exemptSuffixes (it then names
// where a credential is, not the credential).
var (
	credentialWords = []string{"PASSWORD", "PASSWD", "SECRET", "API_KEY", "APIKEY", "ACCESS_KEY", "PRIVATE_KEY", "CREDENTIAL"}
	exemptSuffixes  = []string{"_FILE", "_PATH", "_DIR", "_URL", "_NAME"}
)

// credentialName reports whether name looks like a credential's and says
// why ("ends in TOKEN", "contains PASSWORD").
func credentialName(name string) (string, bool) {
	n := strings.ToUpper(name)
	if strings.HasSuffix(n, "TOKEN") {
		return "ends in TOKEN", true
	}
	for _, s := range exemptSuffixes {
		if strings.HasSuffix(n, s) {
			return "", false
		}
	}
	for _, w := range credentialWords {
		if strings.Contains(n, w) {
			return "contains " + w, true
		}
	}
	return "", false
}

// fileRule finds a credential by the name of the file that holds it.
type fileRule struct {
	id    string
	what  string
	match func(p, base string) bool
	// content, when set, must match the file's first maxScanFileBytes;
	// otherwise any non-empty file matches.
	content *regexp.Regexp
}

var (
	sshKeyNames = map[string]bool{"id_rsa": true, "id_dsa": true, "id_ecdsa": true, "id_ed25519": true, "id_ecdsa_sk": true, "id_ed25519_sk": true}
	// dotenvTemplates are .env variants meant to be committed and shipped.
	dotenvTemplates = map[string]bool{"example": true, "sample": true, "template": true, "dist": true, "defaults": true}
)

var fileRules = []fileRule{
	{id: "ssh-private-key-file", what: "an SSH private key file",
		match: func(_, base string) bool { return sshKeyNames[base] }},
	{id: "dotenv-file", what: "a .env file",
		match: func(_, base string) bool {
			rest, ok := strings.CutPrefix(base, ".env")
			return ok && (rest == "" || (strings.HasPrefix(rest, ".") && !dotenvTemplates[strings.ToLower(rest[1:])]))
		}},
	{id: "npmrc-auth", what: "an .npmrc with credentials",
		match:   func(_, base string) bool { return base == ".npmrc" },
		content: regexp.MustCompile(`(?:_authToken|_auth|_password)\s*=\s*[^\s$]`)},
	{id: "docker-config-auth", what: "a Docker config.json with credentials",
		match:   func(p, base string) bool { return base == "config.json" && path.Base(path.Dir(p)) == ".docker" },
		content: regexp.MustCompile(`"(?:auth|identitytoken)"\s*:\s*"[^"]+"`)},
	{id: "git-credentials-file", what: "a git credential store",
		match: func(_, base string) bool { return base == ".git-credentials" }},
	{id: "pypirc-password", what: "a .pypirc with a password",
		match:   func(_, base string) bool { return base == ".pypirc" },
		content: regexp.MustCompile(`(?m)^\s*password\s*[:=]\s*\S`)},
	{id: "netrc-password", what: "a .netrc with a password",
		match:   func(_, base string) bool { return base == ".netrc" || base == "_netrc" },
		content: regexp.MustCompile(`\bpassword\s+\S`)},
	{id: "aws-credentials-file", what: "an AWS credentials file",
		match: func(p, base string) bool { return base == "credentials" && path.Base(path.Dir(p)) == ".aws" }},
}

// fixtureDirs are directory names whose files are test fixtures; content
// rules skip files below them, and Go test files. Name rules still apply.
var fixtureDirs = map[string]bool{"testdata": true, "test": true, "tests": true, "fixtures": true, "__tests__": true, "__fixtures__": true}

// isFixture reports whether the image path p is a test fixture.
func isFixture(p string) bool {
	if strings.HasSuffix(p, "_test.go") {
		return true
	}
	for _, seg := range strings.Split(path.Dir(p), "/") {
		if fixtureDirs[seg] {
			return true
		}
	}
	return false
}
