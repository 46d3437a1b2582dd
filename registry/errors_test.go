package registry_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

func diagnostic(status int, code transport.ErrorCode) *transport.Error {
	return &transport.Error{StatusCode: status, Errors: []transport.Diagnostic{{Code: code}}}
}

// TestClass is the one mapping of registry failures: builder, attest,
// attest/publish and verify all classify through it.
func TestClass(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"404", &transport.Error{StatusCode: 404}, hallmark.ErrNotFound},
		{"manifest unknown", diagnostic(400, transport.ManifestUnknownErrorCode), hallmark.ErrNotFound},
		{"name unknown", diagnostic(400, transport.NameUnknownErrorCode), hallmark.ErrNotFound},
		{"blob unknown", diagnostic(400, transport.BlobUnknownErrorCode), hallmark.ErrNotFound},
		{"401", &transport.Error{StatusCode: 401}, hallmark.ErrPermissionDenied},
		{"403", &transport.Error{StatusCode: 403}, hallmark.ErrPermissionDenied},
		{"unauthorized", diagnostic(400, transport.UnauthorizedErrorCode), hallmark.ErrPermissionDenied},
		{"denied", diagnostic(400, transport.DeniedErrorCode), hallmark.ErrPermissionDenied},
		{"408", &transport.Error{StatusCode: 408}, hallmark.ErrUnavailable},
		{"429", &transport.Error{StatusCode: 429}, hallmark.ErrUnavailable},
		{"too many requests", diagnostic(400, transport.TooManyRequestsErrorCode), hallmark.ErrUnavailable},
		{"unavailable", diagnostic(400, transport.UnavailableErrorCode), hallmark.ErrUnavailable},
		{"500", &transport.Error{StatusCode: 500}, hallmark.ErrUnavailable},
		{"503", &transport.Error{StatusCode: 503}, hallmark.ErrUnavailable},
		{"400", &transport.Error{StatusCode: 400}, nil},
		{"405", &transport.Error{StatusCode: 405}, nil},
		{"timeout", fmt.Errorf("get: %w", context.DeadlineExceeded), hallmark.ErrUnavailable},
		{"dns", &net.DNSError{Err: "no such host", Name: "x"}, hallmark.ErrUnavailable},
		{"connection refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), hallmark.ErrUnavailable},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), hallmark.ErrUnavailable},
		{"truncated", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), hallmark.ErrUnavailable},
		{"unknown authority", fmt.Errorf("tls: %w", x509.UnknownAuthorityError{}), hallmark.ErrUnavailable},
		{"hostname", fmt.Errorf("tls: %w", x509.HostnameError{Host: "x"}), hallmark.ErrUnavailable},
		{"certificate invalid", fmt.Errorf("tls: %w", x509.CertificateInvalidError{}), hallmark.ErrUnavailable},
		{"canceled", fmt.Errorf("get: %w", context.Canceled), hallmark.ErrCanceled},
		{"other", errors.New("manifest digest mismatch"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := registry.Class(t.Context(), tt.err)
			if !errors.Is(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Fatalf("Class(%v) = %v, want %v", tt.err, got, tt.want)
			}
			wrapped := registry.Error(t.Context(), tt.err)
			if !errors.Is(wrapped, tt.err) || (tt.want != nil && !errors.Is(wrapped, tt.want)) {
				t.Fatalf("Error(%v) = %v", tt.err, wrapped)
			}
			if tt.want == nil && wrapped.Error() != tt.err.Error() {
				t.Fatalf("Error(%v) = %v, want it unchanged", tt.err, wrapped)
			}
		})
	}
}

// TestClassContext: a call whose context ended is canceled or unavailable
// whatever error it returned.
func TestClassContext(t *testing.T) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	other := errors.New("read body: connection closed")
	tests := []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"canceled", canceled, hallmark.ErrCanceled},
		{"deadline", expired, hallmark.ErrUnavailable},
		{"nil context", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := registry.Class(tt.ctx, other); !errors.Is(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Fatalf("Class = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestErrorFromRegistry classifies what real calls against a registry
// that answers with each status return, for reads and writes: the same
// answer is the same class for every call.
func TestErrorFromRegistry(t *testing.T) {
	reg := registrytest.New(t)
	subject, _ := reg.PushRandom(t, "app", "v1")
	c := registrytest.Client(t)
	calls := map[string]func(ctx context.Context) error{
		"head": func(ctx context.Context) error {
			_, err := remote.Head(subject, c.RemoteOptions(ctx)...)
			return err
		},
		"get": func(ctx context.Context) error {
			_, err := remote.Get(subject, c.RemoteOptions(ctx)...)
			return err
		},
		"referrers": func(ctx context.Context) error {
			_, err := remote.Referrers(subject, c.RemoteOptions(ctx)...)
			return err
		},
		"tag": func(ctx context.Context) error {
			return remote.Tag(subject.Context().Tag("v2"), registry.OCIManifest(`{}`), c.RemoteOptions(ctx)...)
		},
	}
	tests := []struct {
		status int
		body   string
		want   error
	}{
		{http.StatusUnauthorized, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, hallmark.ErrPermissionDenied},
		{http.StatusForbidden, `{"errors":[{"code":"DENIED","message":"no"}]}`, hallmark.ErrPermissionDenied},
		{http.StatusServiceUnavailable, "down", hallmark.ErrUnavailable},
		{http.StatusTooManyRequests, "slow down", hallmark.ErrUnavailable},
	}
	for _, tt := range tests {
		for callName, call := range calls {
			t.Run(fmt.Sprintf("%d/%s", tt.status, callName), func(t *testing.T) {
				reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
					if r.URL.Path == "/v2/" {
						return false
					}
					http.Error(w, tt.body, tt.status)
					return true
				})
				defer reg.SetHook(nil)
				err := registry.Error(t.Context(), call(t.Context()))
				if !errors.Is(err, tt.want) {
					t.Fatalf("%s = %v, want %v", callName, err, tt.want)
				}
			})
		}
	}
	t.Run("not found", func(t *testing.T) {
		_, err := remote.Get(subject.Context().Tag("nope"), c.RemoteOptions(t.Context())...)
		if err = registry.Error(t.Context(), err); !errors.Is(err, hallmark.ErrNotFound) {
			t.Fatalf("Get of a missing tag = %v, want ErrNotFound", err)
		}
	})
	t.Run("down", func(t *testing.T) {
		down := registrytest.New(t)
		ref, err := c.ParseReference(down.Host + "/app:v1")
		if err != nil {
			t.Fatal(err)
		}
		down.SetHook(func(w http.ResponseWriter, _ *http.Request) bool {
			hj, ok := w.(http.Hijacker)
			if !ok {
				t.Error("cannot hijack")
				return true
			}
			conn, _, err := hj.Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return true
		})
		_, err = remote.Get(ref, c.RemoteOptions(t.Context())...)
		if err = registry.Error(t.Context(), err); !errors.Is(err, hallmark.ErrUnavailable) || !strings.Contains(err.Error(), down.Host) {
			t.Fatalf("Get from a registry that drops connections = %v, want ErrUnavailable", err)
		}
	})
}
