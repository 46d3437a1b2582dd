package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	hallmark "github.com/hallmark-dev/hallmark"
)

// MaxRedirects is how many redirects one registry request follows.
// go-containerregistry replaces net/http's limit of 10 with its own redirect
// check, which has none, so a registry that redirects in a loop would hold a
// call until its context ends; the Client's transport stops it instead.
const MaxRedirects = 10

// TooLargeError is a registry answer over a read limit: a blob, or a
// manifest, index or referrers response under WithManifestLimit. It wraps
// hallmark.ErrTooLarge.
type TooLargeError struct {
	// Size is the size the registry declared (a descriptor or
	// Content-Length), or -1 when the answer was cut off at the limit.
	Size int64
	// Limit is the limit, in bytes.
	Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("%v: over the %d-byte limit", hallmark.ErrTooLarge, e.Limit)
	}
	return fmt.Sprintf("%v: %d bytes, over the %d-byte limit", hallmark.ErrTooLarge, e.Size, e.Limit)
}

func (e *TooLargeError) Unwrap() error { return hallmark.ErrTooLarge }

type manifestLimitKey struct{}

// WithManifestLimit returns a context under which the calls a Client's
// RemoteOptions make read at most n bytes of each manifest, index and
// referrers response (go-containerregistry's own limit is 100 MiB): a
// response that declares more (Content-Length) is refused before its body
// is read, and a longer body is cut off at n bytes. Either is an error
// wrapping a *TooLargeError. Blobs are bounded by ReadBlob's limit instead.
func WithManifestLimit(ctx context.Context, n int64) context.Context {
	return context.WithValue(ctx, manifestLimitKey{}, n)
}

// manifestLimit returns the limit of WithManifestLimit, or 0 for none.
func manifestLimit(ctx context.Context) int64 {
	n, _ := ctx.Value(manifestLimitKey{}).(int64)
	return n
}

// boundedTransport is the bottom of every Client's transport: it follows at
// most MaxRedirects redirects, bounds manifest responses
// (WithManifestLimit) and reads fallback tags ahead (WithFallbackAhead).
// Authentication sits above it, and adds credentials only for the
// registry's own host, never to a host redirected to.
type boundedTransport struct {
	inner http.RoundTripper
}

var _ http.RoundTripper = boundedTransport{}

func (t boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	first, hops := req, 0
	for first.Response != nil && first.Response.Request != nil {
		first, hops = first.Response.Request, hops+1
	}
	if hops > MaxRedirects {
		return nil, fmt.Errorf("%w: %s redirected more than %d times", hallmark.ErrUnavailable, first.URL.Redacted(), MaxRedirects)
	}
	var (
		resp *http.Response
		err  error
	)
	if a, ok := req.Context().Value(aheadKey{}).(*ahead); ok {
		resp, err = a.roundTrip(t.inner, req)
	} else {
		resp, err = t.inner.RoundTrip(req)
	}
	if err != nil {
		return nil, err
	}
	limit := manifestLimit(req.Context())
	if limit <= 0 || req.Method != http.MethodGet || resp.StatusCode/100 != 2 || !isManifestPath(first.URL.Path) {
		return resp, nil
	}
	if resp.ContentLength > limit {
		_ = resp.Body.Close()
		return nil, &TooLargeError{Size: resp.ContentLength, Limit: limit}
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: limit, limit: limit}
	return resp, nil
}

// isManifestPath reports whether path names a manifest, index or referrers
// response of the distribution API.
func isManifestPath(path string) bool {
	return strings.HasPrefix(path, "/v2/") && (strings.Contains(path, "/manifests/") || strings.Contains(path, "/referrers/"))
}

// limitedBody fails a read past left bytes with a *TooLargeError, instead of
// returning what came so far: a cut-off manifest must not look complete.
type limitedBody struct {
	io.ReadCloser
	left  int64
	limit int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, err := b.ReadCloser.Read(one[:]); n > 0 {
			return 0, &TooLargeError{Size: -1, Limit: b.limit}
		} else if err != nil {
			return 0, err
		}
		return 0, nil
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
