package sign

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark"
)

// MaxTokenSize is the largest OIDC token a TokenSource may return.
const MaxTokenSize = 64 << 10

// TokenSource returns the OIDC ID token that Fulcio exchanges for a signing
// certificate. The token names the gateway's own identity, never a caller's.
type TokenSource interface {
	// Token returns a current token. Implementations must not put the token
	// into errors.
	Token(ctx context.Context) (string, error)
}

// FuncTokenSource adapts a function to a TokenSource, for example one that
// asks the dev stack's OIDC issuer for a fresh token.
type FuncTokenSource func(ctx context.Context) (string, error)

var _ TokenSource = FuncTokenSource(nil)

// Token calls f.
func (f FuncTokenSource) Token(ctx context.Context) (string, error) { return f(ctx) }

// FileTokenSource returns a TokenSource that reads the token from the file at
// path each time it is asked, such as a Kubernetes projected service-account
// token that the kubelet rotates. Surrounding white space is removed; an
// empty file or one over MaxTokenSize is an error.
func FileTokenSource(path string) TokenSource { return fileTokenSource{path: path} }

type fileTokenSource struct{ path string }

var _ TokenSource = fileTokenSource{}

func (f fileTokenSource) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	file, err := os.Open(f.path)
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	defer func() { _ = file.Close() }()
	b, err := io.ReadAll(io.LimitReader(file, MaxTokenSize+1))
	if err != nil {
		return "", fmt.Errorf("read token file %s: %w", f.path, err)
	}
	if len(b) > MaxTokenSize {
		return "", fmt.Errorf("read token file %s: %w: over %d bytes", f.path, hallmark.ErrTooLarge, MaxTokenSize)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("read token file %s: file is empty", f.path)
	}
	return token, nil
}

// String names the file, never the token.
func (f fileTokenSource) String() string { return "token file " + f.path }

// tokenClaims are the unverified claims the signer looks at before sending a
// token to Fulcio, which verifies it. They only serve clear errors.
type tokenClaims struct {
	Issuer  string `json:"iss"`
	Subject string `json:"sub"`
	Email   string `json:"email"`
	Expiry  *int64 `json:"exp"`
}

// checkToken parses token as a JWT without verifying it and rejects one that
// is malformed or expired. Its errors never contain the token.
func checkToken(token string, now time.Time) (tokenClaims, error) {
	var c tokenClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, errors.New("token is not a JWT (want three dot-separated parts)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return c, errors.New("token is not a JWT: payload is not base64url")
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, errors.New("token is not a JWT: payload is not a JSON object")
	}
	if c.Subject == "" && c.Email == "" {
		return c, errors.New("token has neither a sub nor an email claim")
	}
	if c.Expiry != nil {
		exp := time.Unix(*c.Expiry, 0)
		if !now.Before(exp) {
			return c, fmt.Errorf("token from issuer %q expired at %s", c.Issuer, exp.UTC().Format(time.RFC3339))
		}
	}
	return c, nil
}

// redact removes every occurrence of the token, and of its signature part,
// from err's message. A redacted error keeps no chain, so callers classify
// errors before redacting them.
func redact(err error, token string) error {
	if err == nil || token == "" {
		return err
	}
	msg := err.Error()
	if redacted := redactString(msg, token); redacted != msg {
		return errors.New(redacted)
	}
	return err
}

// redactString removes the token, and its signature part, from s.
func redactString(s, token string) string {
	if token == "" {
		return s
	}
	s = strings.ReplaceAll(s, token, "[token redacted]")
	if i := strings.LastIndexByte(token, '.'); i >= 0 && len(token)-i > 16 {
		s = strings.ReplaceAll(s, token[i+1:], "[token redacted]")
	}
	return s
}
