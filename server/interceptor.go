package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	hallmark "github.com/hallmark-dev/hallmark"
)

type identityKey struct{}

// IdentityFromContext returns the identity the interceptor verified for the
// request that ctx belongs to.
func IdentityFromContext(ctx context.Context) (hallmark.Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(hallmark.Identity)
	return id, ok
}

func withIdentity(ctx context.Context, id hallmark.Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// Interceptor returns a Connect interceptor for handlers. It authenticates
// every call, except to public procedures, with the bearer token of its
// Authorization header, and stores the identity for IdentityFromContext.
// Calls without a valid token fail with CodeUnauthenticated (CodeUnavailable
// while the token's issuer cannot be reached). Clients pass through.
func (a *Authenticator) Interceptor() connect.Interceptor {
	return &authInterceptor{a: a}
}

type authInterceptor struct{ a *Authenticator }

var _ connect.Interceptor = (*authInterceptor)(nil)

func (i *authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, err := i.a.authenticateCall(ctx, req.Spec().Procedure, req.Header())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (i *authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i *authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := i.a.authenticateCall(ctx, conn.Spec().Procedure, conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

// authenticateCall authenticates one call and returns its context with the
// identity, or a Connect error.
func (a *Authenticator) authenticateCall(ctx context.Context, procedure string, h http.Header) (context.Context, error) {
	if a.opts.public[procedure] {
		return ctx, nil
	}
	raw, err := bearerToken(h, a.opts.maxTokenBytes)
	if err != nil {
		return ctx, a.callError(ctx, procedure, err)
	}
	id, err := a.Authenticate(ctx, raw)
	if err != nil {
		return ctx, a.callError(ctx, procedure, err)
	}
	return withIdentity(ctx, id), nil
}

func (a *Authenticator) callError(ctx context.Context, procedure string, err error) error {
	code := connect.CodeUnauthenticated
	if errors.Is(err, hallmark.ErrUnavailable) {
		code = connect.CodeUnavailable
	}
	a.opts.log.InfoContext(ctx, "reject call", "procedure", procedure, "code", code.String(), "error", err)
	ce := publicError(code, err)
	if code == connect.CodeUnauthenticated {
		ce.Meta().Set("WWW-Authenticate", `Bearer realm="hallmark"`)
	}
	return ce
}

// bearerToken returns the token, of at most maxBytes, of the one
// "Authorization: Bearer <token>" header (RFC 6750). Its errors never quote
// the header.
func bearerToken(h http.Header, maxBytes int) (string, error) {
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return "", fmt.Errorf("%w: missing Authorization header with a bearer token", hallmark.ErrUnauthenticated)
	case 1:
	default:
		return "", fmt.Errorf("%w: more than one Authorization header", hallmark.ErrUnauthenticated)
	}
	v := values[0]
	if len(v) > maxBytes+len("Bearer ")+16 {
		return "", fmt.Errorf("%w: Authorization header is larger than %d bytes", hallmark.ErrUnauthenticated, maxBytes)
	}
	scheme, tok, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf("%w: Authorization header does not use the Bearer scheme", hallmark.ErrUnauthenticated)
	}
	tok = strings.Trim(tok, " ")
	if tok == "" {
		return "", fmt.Errorf("%w: empty bearer token", hallmark.ErrUnauthenticated)
	}
	if !isB64Token(tok) {
		return "", fmt.Errorf("%w: malformed bearer token", hallmark.ErrUnauthenticated)
	}
	return tok, nil
}

// isB64Token reports whether s is an RFC 6750 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}
