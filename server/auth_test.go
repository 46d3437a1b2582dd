package server

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"
	"sigs.k8s.io/yaml"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/internal/devstack"
)

const testAudience = "hallmark"

// testIssuer is a devstack issuer served by an httptest server. Its clock
// runs behind by behind, so that it can mint expired tokens, and its key can
// be rotated while it keeps its URL.
type testIssuer struct {
	url     string
	behind  atomic.Int64
	current atomic.Pointer[devstack.Issuer]
	// jwksCache, if set, replaces the Cache-Control header of the JWKS.
	jwksCache atomic.Pointer[string]
	// down makes every request fail with 503.
	down atomic.Bool
}

func startTestIssuer(t testing.TB) *testIssuer {
	t.Helper()
	ti := &testIssuer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ti.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if cc := ti.jwksCache.Load(); cc != nil && strings.HasSuffix(r.URL.Path, "/jwks") {
			w = headerOverride{ResponseWriter: w, key: "Cache-Control", value: *cc}
		}
		ti.current.Load().Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ti.url = srv.URL
	ti.rotate(t)
	return ti
}

// headerOverride sets one header just before the response is written.
type headerOverride struct {
	http.ResponseWriter
	key, value string
}

func (h headerOverride) WriteHeader(code int) {
	h.Header().Set(h.key, h.value)
	h.ResponseWriter.WriteHeader(code)
}

// rotate replaces the issuer's key.
func (ti *testIssuer) rotate(t testing.TB) {
	t.Helper()
	iss, err := devstack.NewIssuer(
		devstack.WithURL(ti.url),
		devstack.WithClock(func() time.Time { return time.Now().Add(-time.Duration(ti.behind.Load())) }),
	)
	if err != nil {
		t.Fatal(err)
	}
	ti.current.Store(iss)
}

func (ti *testIssuer) mint(t testing.TB, subject, audience string, claims map[string]any) string {
	t.Helper()
	return mintWith(t, ti.current.Load(), subject, audience, claims)
}

func mintWith(t testing.TB, iss *devstack.Issuer, subject, audience string, claims map[string]any) string {
	t.Helper()
	tok, err := iss.Mint(subject, audience, 0, claims)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return tok
}

// unservedIssuer returns an issuer whose URL points at a closed port.
func unservedIssuer(t *testing.T) *devstack.Issuer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	iss, err := devstack.NewIssuer(devstack.WithURL(u))
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func newTestAuthenticator(t testing.TB, issuerURLs []string, opts ...AuthOption) *Authenticator {
	t.Helper()
	var cfg []config.Issuer
	for _, u := range issuerURLs {
		cfg = append(cfg, config.Issuer{URL: u, Audience: testAudience})
	}
	a, err := NewAuthenticator(t.Context(), cfg, opts...)
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	return a
}

// checkNoTokenMaterial fails if err quotes any part of tok.
func checkNoTokenMaterial(t *testing.T, err error, tok string) {
	t.Helper()
	if err == nil || tok == "" {
		return
	}
	if strings.Contains(err.Error(), tok) {
		t.Errorf("error %q contains the token", err)
	}
	for part := range strings.SplitSeq(tok, ".") {
		if len(part) >= 8 && strings.Contains(err.Error(), part) {
			t.Errorf("error %q contains part %q of the token", err, part)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	trusted := startTestIssuer(t)
	untrusted := startTestIssuer(t)
	down := unservedIssuer(t)
	a := newTestAuthenticator(t, []string{trusted.url, down.URL()})

	// otherKey has the trusted issuer's URL but a key of its own.
	otherKey, err := devstack.NewIssuer(devstack.WithURL(trusted.url))
	if err != nil {
		t.Fatal(err)
	}
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + trusted.url + `","sub":"ci","aud":"hallmark","exp":4102444800}`))
	unsigned := header + "." + payload + "."
	unsignedHS := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + payload + ".c2lnbmF0dXJl"

	claims := map[string]any{"repository": "acme/app", "ref": "refs/heads/main"}
	tests := []struct {
		name    string
		token   func(t *testing.T) string
		wantErr error
		wantMsg string
	}{
		{
			name: "valid",
			token: func(t *testing.T) string {
				return trusted.mint(t, "repo:acme/app:ref:refs/heads/main", testAudience, claims)
			},
		},
		{name: "empty", token: func(*testing.T) string { return "" }, wantErr: hallmark.ErrUnauthenticated, wantMsg: "no token"},
		{
			name:    "garbage",
			token:   func(*testing.T) string { return "not-a-jwt-at-all" },
			wantErr: hallmark.ErrUnauthenticated, wantMsg: "malformed token",
		},
		{
			name:    "garbage payload",
			token:   func(*testing.T) string { return "eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24gYXQgYWxs.c2lnbmF0dXJl" },
			wantErr: hallmark.ErrUnauthenticated, wantMsg: "malformed token",
		},
		{
			name:    "too large",
			token:   func(*testing.T) string { return strings.Repeat("a", 16<<10+1) },
			wantErr: hallmark.ErrUnauthenticated, wantMsg: "larger than 16384 bytes",
		},
		{
			name: "expired",
			token: func(t *testing.T) string {
				trusted.behind.Store(int64(2 * time.Hour))
				defer trusted.behind.Store(0)
				return trusted.mint(t, "ci", testAudience, nil)
			},
			wantErr: hallmark.ErrUnauthenticated, wantMsg: "expired at",
		},
		{
			name:    "wrong audience",
			token:   func(t *testing.T) string { return trusted.mint(t, "ci", "someone-else", nil) },
			wantErr: hallmark.ErrUnauthenticated, wantMsg: `audience does not include "hallmark"`,
		},
		{
			name:    "signed by another key",
			token:   func(t *testing.T) string { return mintWith(t, otherKey, "ci", testAudience, nil) },
			wantErr: hallmark.ErrUnauthenticated, wantMsg: "signature does not verify",
		},
		{
			name:    "unsigned",
			token:   func(*testing.T) string { return unsigned },
			wantErr: hallmark.ErrUnauthenticated, wantMsg: "malformed or not signed with one of [ES256]",
		},
		{
			name:    "HMAC",
			token:   func(*testing.T) string { return unsignedHS },
			wantErr: hallmark.ErrUnauthenticated, wantMsg: "malformed or not signed",
		},
		{
			name:    "unknown issuer",
			token:   func(t *testing.T) string { return untrusted.mint(t, "ci", testAudience, nil) },
			wantErr: hallmark.ErrUnauthenticated, wantMsg: `issuer "` + untrusted.url + `" is not trusted`,
		},
		{
			name:    "issuer down",
			token:   func(t *testing.T) string { return mintWith(t, down, "ci", testAudience, nil) },
			wantErr: hallmark.ErrUnavailable, wantMsg: `discover issuer "` + down.URL() + `"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.token(t)
			id, err := a.Authenticate(t.Context(), tok)
			checkNoTokenMaterial(t, err, tok)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Authenticate error = %v, want one wrapping %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("Authenticate error = %q, want one containing %q", err, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if id.Issuer != trusted.url || id.Subject != "repo:acme/app:ref:refs/heads/main" {
				t.Errorf("identity = %q, %q", id.Issuer, id.Subject)
			}
			if id.Claims["repository"] != "acme/app" || id.Claims["aud"] != testAudience {
				t.Errorf("claims = %v", id.Claims)
			}
		})
	}
}

func TestAuthenticateIssuerStartsLater(t *testing.T) {
	// Reserve a port, close it, and start the issuer there only after the
	// authenticator has failed to discover it.
	iss := unservedIssuer(t)
	a := newTestAuthenticator(t, []string{iss.URL()})
	tok := mintWith(t, iss, "ci", testAudience, nil)

	if _, err := a.Authenticate(t.Context(), tok); !errors.Is(err, hallmark.ErrUnavailable) {
		t.Fatalf("Authenticate before the issuer starts = %v, want ErrUnavailable", err)
	}

	ln, err := net.Listen("tcp", strings.TrimPrefix(iss.URL(), "http://"))
	if err != nil {
		t.Skipf("port was taken in the meantime: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- iss.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	id, err := a.Authenticate(t.Context(), tok)
	if err != nil {
		t.Fatalf("Authenticate after the issuer started: %v", err)
	}
	if id.Subject != "ci" {
		t.Errorf("subject = %q", id.Subject)
	}
}

func TestAuthenticateIssuerHangs(t *testing.T) {
	// A listener that never accepts: connections sit in the backlog and
	// requests get no answer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	iss, err := devstack.NewIssuer(devstack.WithURL("http://" + ln.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	a := newTestAuthenticator(t, []string{iss.URL()}, WithIssuerTimeout(100*time.Millisecond))
	tok := mintWith(t, iss, "ci", testAudience, nil)

	_, err = a.Authenticate(t.Context(), tok)
	if !errors.Is(err, hallmark.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Authenticate = %v, want ErrUnavailable after the issuer timeout", err)
	}

	// A caller whose own context ends first is not kept waiting either.
	a = newTestAuthenticator(t, []string{iss.URL()}, WithIssuerTimeout(time.Hour))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := a.Authenticate(ctx, tok); !errors.Is(err, hallmark.ErrUnavailable) {
		t.Fatalf("Authenticate = %v, want ErrUnavailable when the caller's context ends", err)
	}
}

func TestAuthenticateKeyRotation(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		wantErr  error
	}{
		{name: "refetches keys for an unknown key id", interval: 0},
		{name: "refetches at most once per interval", interval: time.Hour, wantErr: hallmark.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := startTestIssuer(t)
			a := newTestAuthenticator(t, []string{iss.url}, WithKeyRefreshInterval(tt.interval))
			if _, err := a.Authenticate(t.Context(), iss.mint(t, "ci", testAudience, nil)); err != nil {
				t.Fatalf("Authenticate before rotation: %v", err)
			}
			iss.rotate(t)
			_, err := a.Authenticate(t.Context(), iss.mint(t, "ci", testAudience, nil))
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Authenticate after rotation: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Authenticate after rotation = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewAuthenticatorConfig(t *testing.T) {
	tests := []struct {
		name    string
		issuers []config.Issuer
		opts    []AuthOption
		wantErr string
	}{
		{name: "no issuers", wantErr: "no issuers"},
		{name: "empty URL", issuers: []config.Issuer{{Audience: "a"}}, wantErr: "issuers[0].url: empty"},
		{name: "relative URL", issuers: []config.Issuer{{URL: "issuer.example.com", Audience: "a"}}, wantErr: "issuers[0].url: "},
		{name: "URL with query", issuers: []config.Issuer{{URL: "https://issuer.example.com?x=1", Audience: "a"}}, wantErr: "issuers[0].url: "},
		{name: "empty audience", issuers: []config.Issuer{{URL: "https://issuer.example.com"}}, wantErr: "issuers[0].audience: empty"},
		{
			name:    "duplicate",
			issuers: []config.Issuer{{URL: "http://127.0.0.1:1", Audience: "a"}, {URL: "http://127.0.0.1:1", Audience: "b"}},
			wantErr: `issuers[1].url: issuer "http://127.0.0.1:1" is listed twice`,
		},
		{name: "bad public procedure", issuers: []config.Issuer{{URL: "http://127.0.0.1:1", Audience: "a"}}, opts: []AuthOption{WithPublicProcedures("Ping")}, wantErr: "public procedure"},
		{name: "zero timeout", issuers: []config.Issuer{{URL: "http://127.0.0.1:1", Audience: "a"}}, opts: []AuthOption{WithIssuerTimeout(0)}, wantErr: "timeout"},
		{name: "tiny token limit", issuers: []config.Issuer{{URL: "http://127.0.0.1:1", Audience: "a"}}, opts: []AuthOption{WithMaxTokenBytes(10)}, wantErr: "max token bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewAuthenticator(t.Context(), tt.issuers, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewAuthenticator error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

const (
	testUnary  = "/hallmark.test.v1.TestService/Unary"
	testStream = "/hallmark.test.v1.TestService/Stream"
	testPublic = "/hallmark.test.v1.TestService/Public"
)

// startConnectServer serves unary, server-streaming and public procedures
// behind a's interceptor. The handlers fail with CodeFailedPrecondition
// unless they see an identity (the public one: unless they see none).
func startConnectServer(t *testing.T, a *Authenticator) *httptest.Server {
	t.Helper()
	opts := connect.WithInterceptors(a.Interceptor())
	check := func(ctx context.Context, want bool) error {
		if _, ok := IdentityFromContext(ctx); ok != want {
			return connect.NewError(connect.CodeFailedPrecondition, errors.New("identity in context is wrong"))
		}
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle(testUnary, connect.NewUnaryHandler(testUnary,
		func(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[emptypb.Empty], error) {
			if err := check(ctx, true); err != nil {
				return nil, err
			}
			return connect.NewResponse(&emptypb.Empty{}), nil
		}, opts))
	mux.Handle(testStream, connect.NewServerStreamHandler(testStream,
		func(ctx context.Context, _ *connect.Request[emptypb.Empty], s *connect.ServerStream[emptypb.Empty]) error {
			if err := check(ctx, true); err != nil {
				return err
			}
			return s.Send(&emptypb.Empty{})
		}, opts))
	mux.Handle(testPublic, connect.NewUnaryHandler(testPublic,
		func(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[emptypb.Empty], error) {
			if err := check(ctx, false); err != nil {
				return nil, err
			}
			return connect.NewResponse(&emptypb.Empty{}), nil
		}, opts))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestInterceptor(t *testing.T) {
	iss := startTestIssuer(t)
	down := unservedIssuer(t)
	a := newTestAuthenticator(t, []string{iss.url, down.URL()}, WithPublicProcedures(testPublic))
	srv := startConnectServer(t, a)

	valid := iss.mint(t, "ci", testAudience, nil)
	tests := []struct {
		name      string
		procedure string
		header    []string // Authorization header values
		wantCode  connect.Code
	}{
		{name: "valid unary", procedure: testUnary, header: []string{"Bearer " + valid}},
		{name: "valid stream", procedure: testStream, header: []string{"Bearer " + valid}},
		{name: "lower-case scheme", procedure: testUnary, header: []string{"bearer " + valid}},
		{name: "no header", procedure: testUnary, wantCode: connect.CodeUnauthenticated},
		{name: "no header stream", procedure: testStream, wantCode: connect.CodeUnauthenticated},
		{name: "empty bearer", procedure: testUnary, header: []string{"Bearer "}, wantCode: connect.CodeUnauthenticated},
		{name: "bearer garbage", procedure: testUnary, header: []string{"Bearer garbage"}, wantCode: connect.CodeUnauthenticated},
		{name: "bearer bad characters", procedure: testUnary, header: []string{"Bearer a,b;c"}, wantCode: connect.CodeUnauthenticated},
		{name: "basic scheme", procedure: testUnary, header: []string{"Basic dXNlcjpwYXNz"}, wantCode: connect.CodeUnauthenticated},
		{name: "two headers", procedure: testUnary, header: []string{"Bearer " + valid, "Bearer " + valid}, wantCode: connect.CodeUnauthenticated},
		{name: "wrong audience", procedure: testStream, header: []string{"Bearer " + iss.mint(t, "ci", "other", nil)}, wantCode: connect.CodeUnauthenticated},
		{name: "issuer down", procedure: testUnary, header: []string{"Bearer " + mintWith(t, down, "ci", testAudience, nil)}, wantCode: connect.CodeUnavailable},
		{name: "public without token", procedure: testPublic},
		{name: "public ignores a bad token", procedure: testPublic, header: []string{"Bearer garbage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := connect.NewClient[emptypb.Empty, emptypb.Empty](srv.Client(), srv.URL+tt.procedure)
			req := connect.NewRequest(&emptypb.Empty{})
			for _, h := range tt.header {
				req.Header().Add("Authorization", h)
			}
			var err error
			if tt.procedure == testStream {
				var stream *connect.ServerStreamForClient[emptypb.Empty]
				stream, err = client.CallServerStream(t.Context(), req)
				if err == nil {
					for stream.Receive() {
					}
					err = stream.Err()
					stream.Close()
				}
			} else {
				_, err = client.CallUnary(t.Context(), req)
			}

			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				return
			}
			if got := connect.CodeOf(err); got != tt.wantCode {
				t.Fatalf("call error = %v, want code %v", err, tt.wantCode)
			}
			for _, h := range tt.header {
				checkNoTokenMaterial(t, err, strings.TrimPrefix(h, "Bearer "))
			}
			var ce *connect.Error
			if tt.wantCode == connect.CodeUnauthenticated && errors.As(err, &ce) && ce.Meta().Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
		})
	}
}

func TestAuthorize(t *testing.T) {
	const gh = "https://token.actions.githubusercontent.com"
	z, err := NewAuthorizer([]config.Rule{
		{
			Issuer:       gh,
			Subject:      "repo:acme/*:ref:refs/heads/main",
			Claims:       map[string]string{"repository_owner": "acme", "ref": "refs/heads/*"},
			Repositories: []string{"registry.example.com/acme/*"},
		},
		{
			Issuer:       gh,
			Subject:      "repo:acme/platform:ref:refs/tags/*",
			Repositories: []string{"registry.example.com/shared/**"},
		},
		{
			Issuer:       "http://127.0.0.1:5556",
			Repositories: []string{"localhost:5000/*"},
		},
	})
	if err != nil {
		t.Fatalf("NewAuthorizer: %v", err)
	}
	acme := func(sub string, claims map[string]any) hallmark.Identity {
		return hallmark.Identity{Issuer: gh, Subject: sub, Claims: claims}
	}
	ghClaims := map[string]any{"repository_owner": "acme", "ref": "refs/heads/main"}

	tests := []struct {
		name string
		id   hallmark.Identity
		repo string
		want bool
	}{
		{name: "subject and claims match", id: acme("repo:acme/app:ref:refs/heads/main", ghClaims), repo: "registry.example.com/acme/app", want: true},
		{name: "star does not cross slash in repository", id: acme("repo:acme/app:ref:refs/heads/main", ghClaims), repo: "registry.example.com/acme/app/sub"},
		{name: "other branch", id: acme("repo:acme/app:ref:refs/heads/dev", ghClaims), repo: "registry.example.com/acme/app"},
		{name: "star does not cross slash in subject", id: acme("repo:acme/a/b:ref:refs/heads/main", ghClaims), repo: "registry.example.com/acme/app"},
		{name: "claim mismatch", id: acme("repo:acme/app:ref:refs/heads/main", map[string]any{"repository_owner": "evil", "ref": "refs/heads/main"}), repo: "registry.example.com/acme/app"},
		{name: "claim missing", id: acme("repo:acme/app:ref:refs/heads/main", map[string]any{"ref": "refs/heads/main"}), repo: "registry.example.com/acme/app"},
		{name: "claim not a string", id: acme("repo:acme/app:ref:refs/heads/main", map[string]any{"repository_owner": true, "ref": "refs/heads/main"}), repo: "registry.example.com/acme/app"},
		{name: "other repository", id: acme("repo:acme/app:ref:refs/heads/main", ghClaims), repo: "registry.example.com/evil/app"},
		{name: "any depth", id: acme("repo:acme/platform:ref:refs/tags/v1", nil), repo: "registry.example.com/shared/base/debian", want: true},
		{name: "any depth needs a segment", id: acme("repo:acme/platform:ref:refs/tags/v1", nil), repo: "registry.example.com/shared"},
		{name: "dot-dot segment", id: acme("repo:acme/platform:ref:refs/tags/v1", nil), repo: "registry.example.com/shared/../acme/app"},
		{name: "empty repository", id: acme("repo:acme/app:ref:refs/heads/main", ghClaims), repo: ""},
		{name: "any subject of the dev issuer", id: hallmark.Identity{Issuer: "http://127.0.0.1:5556", Subject: "dev"}, repo: "localhost:5000/app", want: true},
		{name: "issuer must match exactly", id: hallmark.Identity{Issuer: "http://127.0.0.1:5556/", Subject: "dev"}, repo: "localhost:5000/app"},
		{name: "no identity", repo: "localhost:5000/app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := z.Authorize(tt.id, tt.repo)
			if tt.want {
				if err != nil {
					t.Fatalf("Authorize: %v", err)
				}
				return
			}
			if !errors.Is(err, hallmark.ErrPermissionDenied) {
				t.Fatalf("Authorize = %v, want ErrPermissionDenied", err)
			}
			for _, s := range []string{tt.id.Subject, tt.id.Issuer, tt.repo} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
		})
	}

	empty, err := NewAuthorizer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := empty.Authorize(acme("x", nil), "registry.example.com/acme/app"); !errors.Is(err, hallmark.ErrPermissionDenied) {
		t.Errorf("Authorize without rules = %v, want ErrPermissionDenied", err)
	}
}

func TestAuthorizeAny(t *testing.T) {
	const gh = "https://token.actions.githubusercontent.com"
	z, err := NewAuthorizer([]config.Rule{
		{Issuer: gh, Subject: "repo:acme/*:ref:refs/heads/main", Claims: map[string]string{"repository_owner": "acme"}, Repositories: []string{"registry.example.com/acme/*"}},
		{Issuer: "http://127.0.0.1:5556", Repositories: []string{"localhost:5000/*"}},
		{Issuer: gh, Subject: "repo:acme/release:*", Pull: []string{"registry.example.com/**"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   hallmark.Identity
		want bool
	}{
		{name: "a read-only rule may not upload", id: hallmark.Identity{Issuer: gh, Subject: "repo:acme/release:ref:refs/heads/main"}},
		{name: "subject and claims match", id: hallmark.Identity{Issuer: gh, Subject: "repo:acme/app:ref:refs/heads/main", Claims: map[string]any{"repository_owner": "acme"}}, want: true},
		{name: "any subject of an issuer's rule", id: hallmark.Identity{Issuer: "http://127.0.0.1:5556", Subject: "anyone"}, want: true},
		{name: "subject matches no rule", id: hallmark.Identity{Issuer: gh, Subject: "repo:evil/app:ref:refs/heads/main", Claims: map[string]any{"repository_owner": "acme"}}},
		{name: "claim mismatch", id: hallmark.Identity{Issuer: gh, Subject: "repo:acme/app:ref:refs/heads/main", Claims: map[string]any{"repository_owner": "evil"}}},
		{name: "issuer without a rule", id: hallmark.Identity{Issuer: "https://other.example", Subject: "x"}},
		{name: "no identity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := z.AuthorizeAny(tt.id)
			if tt.want {
				if err != nil {
					t.Fatalf("AuthorizeAny: %v", err)
				}
				return
			}
			if !errors.Is(err, hallmark.ErrPermissionDenied) || !strings.Contains(err.Error(), "matches no authorization rule") {
				t.Fatalf("AuthorizeAny = %v, want ErrPermissionDenied", err)
			}
			if !strings.Contains(err.Error(), tt.id.Subject) || !strings.Contains(err.Error(), tt.id.Issuer) {
				t.Errorf("error %q does not name the identity", err)
			}
		})
	}
}

func TestNewAuthorizerValidates(t *testing.T) {
	ok := config.Rule{Issuer: "https://issuer.example.com", Repositories: []string{"r/*"}}
	tests := []struct {
		name    string
		rule    config.Rule
		wantErr string
	}{
		{name: "empty issuer", rule: config.Rule{Repositories: []string{"r/*"}}, wantErr: "rules[2].issuer: empty"},
		{name: "no repositories", rule: config.Rule{Issuer: "i"}, wantErr: "rules[2].repositories: empty"},
		{name: "bad repository", rule: config.Rule{Issuer: "i", Repositories: []string{"r/*", "["}}, wantErr: `rules[2].repositories[1]: bad pattern "[": syntax error in pattern`},
		{name: "empty repository", rule: config.Rule{Issuer: "i", Repositories: []string{""}}, wantErr: "rules[2].repositories[0]: empty pattern"},
		{name: "double star inside a segment", rule: config.Rule{Issuer: "i", Repositories: []string{"r/a**"}}, wantErr: `rules[2].repositories[0]: bad pattern "r/a**": ** must be a whole path segment`},
		{name: "no registry", rule: config.Rule{Issuer: "i", Repositories: []string{"**/x"}}, wantErr: `rules[2].repositories[0]: bad pattern "**/x": the first segment must name the registry`},
		{name: "only double star", rule: config.Rule{Issuer: "i", Repositories: []string{"/**"}}, wantErr: "rules[2].repositories[0]: bad pattern"},
		{name: "bad subject", rule: config.Rule{Issuer: "i", Subject: "[a-", Repositories: []string{"r"}}, wantErr: `rules[2].subject: bad pattern "[a-"`},
		{name: "bad claim", rule: config.Rule{Issuer: "i", Claims: map[string]string{"ref": "\\"}, Repositories: []string{"r"}}, wantErr: `rules[2].claims["ref"]: bad pattern`},
		{name: "empty claim pattern", rule: config.Rule{Issuer: "i", Claims: map[string]string{"ref": ""}, Repositories: []string{"r"}}, wantErr: `rules[2].claims["ref"]: empty pattern`},
		{name: "empty claim name", rule: config.Rule{Issuer: "i", Claims: map[string]string{"": "x"}, Repositories: []string{"r"}}, wantErr: "rules[2].claims: empty claim name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewAuthorizer([]config.Rule{ok, ok, tt.rule})
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("NewAuthorizer error = %v, want one starting with %q", err, tt.wantErr)
			}
		})
	}
}

func TestAuthConfigYAML(t *testing.T) {
	const doc = `
issuers:
- url: https://token.actions.githubusercontent.com
  audience: hallmark
rules:
- issuer: https://token.actions.githubusercontent.com
  subject: "repo:acme/*:ref:refs/heads/main"
  claims:
    repository_owner: acme
  repositories:
  - registry.example.com/acme/*
`
	var cfg struct {
		Issuers []config.Issuer `json:"issuers"`
		Rules   []config.Rule   `json:"rules"`
	}
	if err := yaml.UnmarshalStrict([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Issuers) != 1 || cfg.Issuers[0].Audience != "hallmark" {
		t.Errorf("issuers = %+v", cfg.Issuers)
	}
	if len(cfg.Rules) != 1 || cfg.Rules[0].Claims["repository_owner"] != "acme" || cfg.Rules[0].Repositories[0] != "registry.example.com/acme/*" {
		t.Errorf("rules = %+v", cfg.Rules)
	}
	if _, err := NewAuthorizer(cfg.Rules); err != nil {
		t.Errorf("NewAuthorizer: %v", err)
	}
}

// TestGrantAllowRoot: allowRootUnsafe comes from a matching rule only;
// rules add up.
func TestGrantAllowRoot(t *testing.T) {
	const iss = "https://issuer.example"
	z, err := NewAuthorizer([]config.Rule{
		{Issuer: iss, Repositories: []string{"reg.example/apps/*"}},
		{Issuer: iss, Subject: "legacy-*", Repositories: []string{"reg.example/apps/*"}, AllowRootUnsafe: true},
		{Issuer: iss, Subject: "other", Repositories: []string{"reg.example/other/*"}, AllowRootUnsafe: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		subject, repo string
		root, denied  bool
	}{
		{"ci", "reg.example/apps/web", false, false},
		{"legacy-erp", "reg.example/apps/erp", true, false},
		{"ci", "reg.example/other/x", false, true},
	} {
		g, err := z.Grant(hallmark.Identity{Issuer: iss, Subject: tc.subject}, tc.repo)
		if (err != nil) != tc.denied || g.AllowRoot != tc.root {
			t.Errorf("Grant(%s, %s) = %+v, %v; want root %v, denied %v", tc.subject, tc.repo, g, err, tc.root, tc.denied)
		}
	}
}

// TestGrantBuildSettings: cacheScope and network come from the first
// matching rule in order (a later rule never widens them); without a
// cacheScope the scope is the repository, without a network "default".
func TestGrantBuildSettings(t *testing.T) {
	const iss = "https://issuer.example"
	z, err := NewAuthorizer([]config.Rule{
		{Issuer: iss, Subject: "hermetic-*", Repositories: []string{"reg.example/apps/*"}, Network: config.NetworkNone},
		{Issuer: iss, Subject: "acme-*", Repositories: []string{"reg.example/acme/*"}, CacheScope: "acme-shared"},
		{Issuer: iss, Repositories: []string{"reg.example/apps/*", "reg.example/acme/*"}, CacheScope: "everyone", Network: config.NetworkDefault},
		{Issuer: iss, Subject: "lone", Repositories: []string{"reg.example/lone/*"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		subject, repo  string
		scope, network string
	}{
		// First rule: no cacheScope (the repository), network none,
		// although the third rule, which matches too, says otherwise.
		{"hermetic-1", "reg.example/apps/web", "reg.example/apps/web", hallmark.NetworkNone},
		{"hermetic-1", "reg.example/apps/api", "reg.example/apps/api", hallmark.NetworkNone},
		// Second rule: a named scope shared by its repositories.
		{"acme-ci", "reg.example/acme/web", "acme-shared", hallmark.NetworkDefault},
		{"acme-ci", "reg.example/acme/api", "acme-shared", hallmark.NetworkDefault},
		// Only the third rule matches.
		{"ci", "reg.example/apps/web", "everyone", hallmark.NetworkDefault},
		{"hermetic-1", "reg.example/acme/web", "everyone", hallmark.NetworkDefault},
		// Neither set: the repository and the default network.
		{"lone", "reg.example/lone/x", "reg.example/lone/x", hallmark.NetworkDefault},
	} {
		g, err := z.Grant(hallmark.Identity{Issuer: iss, Subject: tc.subject}, tc.repo)
		if err != nil || g.CacheScope != tc.scope || g.Network != tc.network {
			t.Errorf("Grant(%s, %s) = %+v, %v; want cache scope %q, network %q", tc.subject, tc.repo, g, err, tc.scope, tc.network)
		}
	}
	if g, err := z.Grant(hallmark.Identity{Issuer: iss, Subject: "lone"}, "reg.example/other/x"); err == nil || !reflect.DeepEqual(g, Grant{}) {
		t.Errorf("denied Grant = %+v, %v; want the zero Grant and an error", g, err)
	}
}
