package admission

import (
	"strings"
	"testing"
)

func TestSecretKind(t *testing.T) {
	const (
		byName = "may be a secret, judging by its name"
		aws    = "looks like an AWS access key id"
		pem    = "contains a private key"
		jwt    = "looks like a JSON Web Token"
		gh     = "looks like a GitHub token"
		slack  = "looks like a Slack token"
		url    = "contains a URL with a password"
	)
	tests := []struct {
		name, value, want string
	}{
		// Secret-like names.
		{"DB_PASSWORD", "s3cr3t!", byName},
		{"db-password", "hunter2", byName},
		{"PASSWD", "x", byName},
		{"CLIENT_SECRET", "abcdef", byName},
		{"AUTH_TOKEN", "t0k3n", byName},
		{"STRIPE_API_KEY", "sk_live_123", byName},
		{"stripe.apikey", "sk_live_123", byName},
		{"SSH_PRIVATE_KEY", "base64stuff", byName},
		{"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", byName},
		{"PASSWORD", "123456789", byName},        // 9 digits is not "short"
		{"TOKEN", "Bearer $(RAW_TOKEN)", byName}, // not only references
		{"PASSWORD", "/tmp/a b", byName},         // not a path: has a space
		{"TOKEN_URL", "https://x/oauth?token=abc", ""},
		{"TOKEN_ENDPOINT", "https://user:pw@auth.example.com/token", url},
		{"TOKEN", "https://auth.example.com/token?x=1", byName},
		// Not secrets, though the name says so.
		{"TOKEN_FILE", "/var/run/secrets/token", ""},
		{"TOKEN", "/var/run/secrets/token", ""},
		{"PASSWORD_MIN_LENGTH", "8", ""},
		{"TOKEN_TTL", "1h30m", ""},
		{"TOKEN_TTL_SECONDS", "86400", ""},
		{"REQUIRE_TOKEN", "true", ""},
		{"SECRET_ROTATION", "Disabled", ""},
		{"SECRET_NAME", "db-credentials", ""},
		{"VAULT_SECRET_PATH", "secret/data/app", ""},
		{"TOKEN_AUDIENCE", "https://kubernetes.default.svc", ""},
		{"DB_PASSWORD", "$(DB_PASSWORD_FROM_SECRET)", ""},
		{"TOKEN", "$(A)$(B)", ""},
		{"PASSWORD", "", ""},
		// Ordinary names and values.
		{"LOG_LEVEL", "debug", ""},
		{"GREETING", "hello eyJ world", ""},
		{"DATABASE_URL", "postgres://app@db:5432/app", ""},
		{"DATABASE_URL", "postgres://app:$(DB_PASSWORD)@db:5432/app", ""},
		{"KEY_ID", "AKIAIOSFODNN7EXAMPL", ""},          // 15 characters after AKIA
		{"KEY_ID", "XAKIAIOSFODNN7EXAMPLE1", ""},       // part of a longer word
		{"MESSAGE", "BEGIN PUBLIC KEY", ""},            // not a private key
		{"CA_CERT", "-----BEGIN CERTIFICATE-----", ""}, // certificates are public
		// Secret values, whatever the name.
		{"KEY_ID", "AKIAIOSFODNN7EXAMPLE", aws},
		{"CREDS", "id=ASIAIOSFODNN7EXAMPLE;", aws},
		{"TLS_KEY", "-----BEGIN RSA PRIVATE KEY-----\nMIIE...", pem},
		{"SSH", "-----BEGIN OPENSSH PRIVATE KEY-----", pem},
		{"KEY", "-----BEGIN PRIVATE KEY-----", pem},
		{"AUTH_HEADER", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", jwt},
		{"GH", "ghp_" + strings.Repeat("A1b2", 9), gh},
		{"GH", "gho_" + strings.Repeat("A1b2", 9), gh},
		{"GH", "ghs_" + strings.Repeat("A1b2", 9), gh},
		{"GH", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", gh},
		{"GH", "ghp_short", ""},
		{"HOOK", "xoxb-1234567890-abcdefghij", slack},
		{"DATABASE_URL", "postgres://app:hunter2@db:5432/app", url},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+clip(tt.value, 20), func(t *testing.T) {
			if got := secretKind(tt.name, tt.value); got != tt.want {
				t.Fatalf("secretKind(%q, %q) = %q, want %q", tt.name, tt.value, got, tt.want)
			}
		})
	}
}

func TestClipMiddle(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"read reg/app: manifest is over the limit (limit set by verify.limits.maxManifestBytes)", 40, "read reg/a…fy.limits.maxManifestBytes)"},
		{"éééééééééé", 11, "…éééé"},
		{"éééééééééé", 17, "é…éééééé"},
		{"a\nb", 10, "a b"},
	}
	for _, tt := range tests {
		if got := clipMiddle(tt.in, tt.n); got != tt.want || len(got) > tt.n {
			t.Errorf("clipMiddle(%q, %d) = %q (%d bytes), want %q", tt.in, tt.n, got, len(got), tt.want)
		}
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"a longer string", 10, "a longe…"},
		{"ééééé", 6, "é…"},
		{"line\nbreak\x00", 20, "line break "},
		{"bad\xffutf8", 20, "bad\uFFFDutf8"},
	}
	for _, tt := range tests {
		if got := clip(tt.in, tt.n); got != tt.want || len(got) > tt.n {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
