package registry

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
)

// maxAheadBytes bounds a fallback tag's answer read ahead when the context
// sets no manifest limit (WithManifestLimit): go-containerregistry's own.
const maxAheadBytes = 100 << 20

type aheadKey struct{}

// WithFallbackAhead returns a context under which a referrers API request
// that a Client's RemoteOptions make (remote.Referrers) also asks for the
// subject's "sha256-<hex>" fallback tag at once, with the same headers.
// When the registry has no referrers API, go-containerregistry then asks
// for that tag, and gets the answer already read instead of waiting for a
// second round trip; when it has one, the early answer is dropped. Each
// early answer is used at most once, and only by a request for the same
// URL with the same Accept header.
func WithFallbackAhead(ctx context.Context) context.Context {
	return context.WithValue(ctx, aheadKey{}, &ahead{answers: map[string]*aheadAnswer{}})
}

// ahead holds the fallback tag answers read ahead under one context.
type ahead struct {
	mu      sync.Mutex
	answers map[string]*aheadAnswer // by URL
}

// aheadAnswer is a response read ahead; done is closed once it is.
type aheadAnswer struct {
	accept string
	done   chan struct{}
	status int
	header http.Header
	body   []byte
	err    error
}

// roundTrip answers req from an answer read ahead under its context, and
// reads one ahead when req asks for referrers; else it sends req with
// inner.
func (a *ahead) roundTrip(inner http.RoundTripper, req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Response != nil { // not after a redirect
		return inner.RoundTrip(req)
	}
	if tag, ok := fallbackPath(req.URL.Path); ok {
		u := *req.URL
		u.Path, u.RawPath, u.RawQuery = tag, "", ""
		ahead := req.Clone(req.Context())
		ahead.URL, ahead.Host = &u, req.Host
		a.start(inner, ahead)
		return inner.RoundTrip(req)
	}
	if ans := a.take(req.URL.String(), req.Header.Get("Accept")); ans != nil {
		select {
		case <-ans.done:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
		if ans.err != nil {
			return nil, ans.err
		}
		return &http.Response{
			Status: http.StatusText(ans.status), StatusCode: ans.status,
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: ans.header.Clone(), Body: io.NopCloser(bytes.NewReader(ans.body)),
			ContentLength: int64(len(ans.body)), Request: req,
		}, nil
	}
	return inner.RoundTrip(req)
}

// start sends req in the background and keeps its answer for take.
func (a *ahead) start(inner http.RoundTripper, req *http.Request) {
	key := req.URL.String()
	ans := &aheadAnswer{accept: req.Header.Get("Accept"), done: make(chan struct{})}
	a.mu.Lock()
	if _, ok := a.answers[key]; ok {
		a.mu.Unlock()
		return
	}
	a.answers[key] = ans
	a.mu.Unlock()
	go func() {
		defer close(ans.done)
		resp, err := inner.RoundTrip(req)
		if err != nil {
			ans.err = err
			return
		}
		defer resp.Body.Close()
		limit := manifestLimit(req.Context())
		if limit <= 0 {
			limit = maxAheadBytes
		}
		// One byte over the limit is kept, so the limit still sees it.
		ans.body, ans.err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
		ans.status, ans.header = resp.StatusCode, resp.Header
	}()
}

// take removes and returns the answer read ahead for url, if it was asked
// with the Accept header accept.
func (a *ahead) take(url, accept string) *aheadAnswer {
	a.mu.Lock()
	defer a.mu.Unlock()
	ans, ok := a.answers[url]
	if !ok || ans.accept != accept {
		return nil
	}
	delete(a.answers, url)
	return ans
}

// fallbackPath returns the manifest path of the fallback tag of a
// referrers API path, "/v2/<name>/referrers/<alg>:<hex>": the manifest
// "<alg>-<hex>" of the same repository.
func fallbackPath(path string) (string, bool) {
	name, digest, ok := strings.Cut(strings.TrimPrefix(path, "/v2/"), "/referrers/")
	if !ok || !strings.HasPrefix(path, "/v2/") || name == "" || strings.Contains(digest, "/") {
		return "", false
	}
	alg, hex, ok := strings.Cut(digest, ":")
	if !ok || alg == "" || hex == "" {
		return "", false
	}
	return "/v2/" + name + "/manifests/" + alg + "-" + hex, true
}
