package registry

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Error wraps err, from a registry call made under ctx, in the sentinel
// error Class returns for it; err is returned as it is when it has none or
// already wraps it.
func Error(ctx context.Context, err error) error {
	if class := Class(ctx, err); class != nil && !errors.Is(err, class) {
		return fmt.Errorf("%w: %w", class, err)
	}
	return err
}

// Class returns the sentinel error for the cause of err, from a registry
// call made under ctx, or nil:
//
//   - hallmark.ErrCanceled when ctx was canceled or err is context.Canceled;
//   - hallmark.ErrNotFound for 404 and the MANIFEST_UNKNOWN, NAME_UNKNOWN
//     and BLOB_UNKNOWN error codes;
//   - hallmark.ErrPermissionDenied for 401, 403 and the UNAUTHORIZED and
//     DENIED error codes;
//   - hallmark.ErrUnavailable for 408, 429, 5xx and the TOOMANYREQUESTS and
//     UNAVAILABLE error codes, for network failures (refused or dropped
//     connections, DNS, TLS and certificate errors, timeouts, truncated
//     responses) and when ctx's deadline passed;
//   - hallmark.ErrTooLarge for an answer over a limit of the Client
//     (TooLargeError).
//
// Other registry answers (400, say) have no class.
func Class(ctx context.Context, err error) error {
	if ctx != nil && ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return hallmark.ErrCanceled
		}
		return hallmark.ErrUnavailable
	}
	if errors.Is(err, context.Canceled) {
		return hallmark.ErrCanceled
	}
	if errors.Is(err, hallmark.ErrTooLarge) || errors.Is(err, hallmark.ErrUnavailable) {
		// The Client's own limits (TooLargeError, MaxRedirects), inside
		// net/http's *url.Error.
		return hallmark.Class(err)
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch {
		case te.StatusCode == http.StatusNotFound ||
			hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode):
			return hallmark.ErrNotFound
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden ||
			hasCode(te, transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
			return hallmark.ErrPermissionDenied
		case te.StatusCode == http.StatusTooManyRequests || te.StatusCode == http.StatusRequestTimeout || te.StatusCode >= 500 ||
			hasCode(te, transport.TooManyRequestsErrorCode, transport.UnavailableErrorCode):
			return hallmark.ErrUnavailable
		}
		return nil
	}
	if unreachable(err) {
		return hallmark.ErrUnavailable
	}
	return nil
}

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

// unreachable reports network failures: refused connections, DNS, TLS,
// timeouts and dropped connections.
func unreachable(err error) bool {
	var (
		ne  net.Error
		ue  *url.Error
		dns *net.DNSError
		ope *net.OpError
		ca  x509.UnknownAuthorityError
		hn  x509.HostnameError
		ci  x509.CertificateInvalidError
	)
	return errors.As(err, &ne) || errors.As(err, &ue) || errors.As(err, &dns) || errors.As(err, &ope) ||
		errors.As(err, &ca) || errors.As(err, &hn) || errors.As(err, &ci) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
