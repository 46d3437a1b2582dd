package admission

import (
	"regexp"
	"strings"
	"time"
)

// secretWords make an environment variable's name look like it holds a
// secret. Names are compared in upper case with "-" and "." read as "_".
var secretWords = []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "ACCESS_KEY"}

// referenceSuffixes make a secret-like name name a reference to a secret
// rather than the secret itself (TOKEN_FILE, SECRET_NAME, VAULT_TOKEN_PATH).
var referenceSuffixes = []string{"_FILE", "_PATH", "_DIR", "_NAME", "_REF", "_URL", "_URI", "_HOST", "_ENDPOINT"}

// secretValues are value formats that are secrets whatever the name.
var secretValues = []struct {
	re   *regexp.Regexp
	kind string
}{
	{regexp.MustCompile(`(?:^|[^A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?:$|[^A-Z0-9])`), "looks like an AWS access key id"},
	{regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----`), "contains a private key"},
	{regexp.MustCompile(`(?:^|[^A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`), "looks like a JSON Web Token"},
	{regexp.MustCompile(`(?:^|[^A-Za-z0-9_])(?:gh[opsur]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})`), "looks like a GitHub token"},
	{regexp.MustCompile(`(?:^|[^A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}`), "looks like a Slack token"},
}

// urlPassword finds "scheme://user:password@" in a value; the password is
// group 1.
var urlPassword = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:([^/\s@]+)@`)

// envReference is a Kubernetes dependent environment variable, $(NAME).
var envReference = regexp.MustCompile(`\$\([A-Za-z_][A-Za-z0-9_.-]*\)`)

// plainValues are values that are not secrets even under a secret-like
// name: short numbers (PASSWORD_MIN_LENGTH=8), durations (TOKEN_TTL=1h)
// and booleans (REQUIRE_TOKEN=true).
var plainValues = regexp.MustCompile(`^(?:[0-9]{1,8}|(?i:true|false|yes|no|on|off|enabled|disabled|required|optional|none))$`)

// secretKind says why the literal value of the environment variable name
// looks like a secret ("looks like a GitHub token"), or "" if it does not.
// The value itself never appears in the answer.
func secretKind(name, value string) string {
	if strings.TrimSpace(value) == "" {
		return ""
	}
	for _, s := range secretValues {
		if s.re.MatchString(value) {
			return s.kind
		}
	}
	if m := urlPassword.FindStringSubmatch(value); m != nil && !isReference(m[1]) {
		return "contains a URL with a password"
	}
	if secretName(name) && !plainValue(value) {
		return "may be a secret, judging by its name"
	}
	return ""
}

// secretName says whether name looks like it holds a secret.
func secretName(name string) bool {
	n := strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(name))
	for _, s := range referenceSuffixes {
		if strings.HasSuffix(n, s) {
			return false
		}
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// plainValue says whether a value under a secret-like name is plainly not
// a secret: a reference to other variables, an absolute path
// (TOKEN_FILE=/var/run/secrets/token), a URL without credentials or query,
// a short number, a duration or a boolean.
func plainValue(v string) bool {
	v = strings.TrimSpace(v)
	switch {
	case isReference(v),
		strings.HasPrefix(v, "/") && !strings.ContainsAny(v, " \t"),
		plainValues.MatchString(v):
		return true
	}
	if len(v) <= 10 {
		if _, err := time.ParseDuration(v); err == nil {
			return true
		}
	}
	if scheme, rest, ok := strings.Cut(v, "://"); ok && scheme != "" && !strings.ContainsAny(scheme, "/:@") {
		host, _, _ := strings.Cut(rest, "/")
		return !strings.Contains(host, "@") && !strings.ContainsAny(rest, "?#")
	}
	return false
}

// isReference says whether v consists only of $(NAME) references.
func isReference(v string) bool {
	return v != "" && strings.TrimSpace(envReference.ReplaceAllString(v, "")) == ""
}
