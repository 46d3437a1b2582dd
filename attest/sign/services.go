package sign

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekortilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark"
)

const rekorV2 = 2

// services are the endpoints one signature uses.
type services struct {
	fulcio root.Service
	tsas   []root.Service
	tlogs  []root.Service
}

// selectServices picks the endpoints for one signature from the signing
// config, the way sigstore-go's and cosign's signers do: the newest valid
// Fulcio with a supported API version, and the timestamp authorities and
// transparency logs chosen by the config's selectors (ALL, ANY, EXACT) among
// those with the highest supported API version.
func selectServices(sc *root.SigningConfig, now time.Time) (services, error) {
	var s services
	var err error
	s.fulcio, err = root.SelectService(sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now)
	if err != nil {
		return s, fmt.Errorf("%w: select fulcio from signing config: %w", hallmark.ErrInvalid, err)
	}
	if len(sc.TimestampAuthorityURLs()) > 0 {
		s.tsas, err = root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), sign.TimestampAuthorityAPIVersions, now)
		if err != nil {
			return s, fmt.Errorf("%w: select timestamp authorities from signing config: %w", hallmark.ErrInvalid, err)
		}
	}
	if len(sc.RekorLogURLs()) > 0 {
		s.tlogs, err = root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), sign.RekorAPIVersions, now)
		if err != nil {
			return s, fmt.Errorf("%w: select transparency logs from signing config: %w", hallmark.ErrInvalid, err)
		}
	}
	if len(s.tsas) == 0 && len(s.tlogs) == 0 {
		return s, fmt.Errorf("%w: signing config names neither a timestamp authority nor a transparency log, so no signature time could be proven", hallmark.ErrInvalid)
	}
	for _, t := range s.tlogs {
		if t.MajorAPIVersion == rekorV2 && len(s.tsas) == 0 {
			return s, fmt.Errorf("%w: signing config selects Rekor v2 log %s, whose entries carry no time, but no timestamp authority", hallmark.ErrInvalid, t.URL)
		}
	}
	return s, nil
}

// observer is the transport of one service for one Sign call. It binds the
// call's context to requests (sigstore-go's Fulcio and TSA clients send
// requests without one) and remembers whether the service looked
// unavailable: a network error, a 5xx or a 429.
type observer struct {
	ctx     context.Context
	base    http.RoundTripper
	service string
	url     string

	mu      sync.Mutex
	failed  bool
	failure string        // empty when the call ran out of time
	elapsed time.Duration // in round trips, for the call's timings
}

var _ http.RoundTripper = (*observer)(nil)

func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := o.base.RoundTrip(req.WithContext(o.ctx))
	o.mu.Lock()
	o.elapsed += time.Since(start)
	o.mu.Unlock()
	switch {
	case err != nil && o.ctx.Err() != nil:
		o.fail("") // the call's deadline or cancellation, not the service
	case err != nil:
		o.fail(err.Error())
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		o.fail("answered " + resp.Status)
	default:
		o.set(false, "") // a retry got through
	}
	return resp, err
}

func (o *observer) fail(what string) { o.set(true, what) }

func (o *observer) set(failed bool, what string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failed, o.failure = failed, what
}

// took is the time spent in the service's round trips so far.
func (o *observer) took() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.elapsed
}

// unavailable reports whether the service looked unavailable, and why; an
// empty why means it did not answer before the call's context ended.
func (o *observer) unavailable() (bool, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.failed, o.failure
}

// maxRekorResponse bounds a Rekor v2 answer (an entry with its inclusion
// proof and checkpoint is a few KiB).
const maxRekorResponse = 10 << 20

// rekorV2Client adds hashedrekord entries to a Rekor v2 log. It does what
// rekor-tiles' write client does, over the observer transport, so that
// timeouts, cancellation and outages are reported like those of the other
// services.
type rekorV2Client struct {
	baseURL string
	client  *http.Client
}

var _ sign.RekorV2Client = (*rekorV2Client)(nil)

func (c *rekorV2Client) Add(ctx context.Context, entry any) (*protorekor.TransparencyLogEntry, error) {
	hr, ok := entry.(*rekortilespb.HashedRekordRequestV002)
	if !ok {
		return nil, fmt.Errorf("add rekor v2 entry: unsupported entry type %T", entry)
	}
	body, err := protojson.Marshal(&rekortilespb.CreateEntryRequest{
		Spec: &rekortilespb.CreateEntryRequest_HashedRekordRequestV002{HashedRekordRequestV002: hr},
	})
	if err != nil {
		return nil, fmt.Errorf("encode rekor v2 entry: %w", err)
	}
	u, err := url.JoinPath(c.baseURL, "api/v2/log/entries")
	if err != nil {
		return nil, fmt.Errorf("build rekor v2 url: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build rekor v2 request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("post rekor v2 entry: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxRekorResponse+1))
	if err != nil {
		return nil, fmt.Errorf("read rekor v2 answer: %w", err)
	}
	if len(b) > maxRekorResponse {
		return nil, fmt.Errorf("read rekor v2 answer: %w: over %d bytes", hallmark.ErrTooLarge, maxRekorResponse)
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("rekor v2 log answered %s: %s", resp.Status, clip(b, 512))
	}
	var tle protorekor.TransparencyLogEntry
	if err := protojson.Unmarshal(b, &tle); err != nil {
		return nil, fmt.Errorf("decode rekor v2 entry: %w", err)
	}
	return &tle, nil
}

func clip(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
