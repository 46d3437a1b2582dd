package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/config"
)

// trustedIssuer is one configured issuer and, once discovered, its verifier.
type trustedIssuer struct {
	cfg  config.Issuer
	opts *authOptions

	mu       sync.Mutex
	verify   *oidc.IDTokenVerifier // nil until discovery succeeds
	inflight *discovery            // the running discovery, if any
	algs     []jose.SignatureAlgorithm
}

// discovery is one attempt to discover an issuer; done closes when err is set.
type discovery struct {
	done chan struct{}
	err  error
}

// verifier returns the issuer's verifier, discovering the issuer first if
// needed. Concurrent callers share one attempt; each waits at most until its
// ctx is done.
func (ti *trustedIssuer) verifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	ti.mu.Lock()
	if v := ti.verify; v != nil {
		ti.mu.Unlock()
		return v, nil
	}
	d := ti.startDiscoveryLocked(ctx)
	ti.mu.Unlock()

	select {
	case <-d.done:
		if d.err != nil {
			return nil, d.err
		}
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: discover issuer %q: %w", hallmark.ErrUnavailable, ti.cfg.URL, context.Cause(ctx))
	}
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return ti.verify, nil
}

// startDiscoveryLocked starts a discovery unless one is running, and returns
// it. The attempt runs detached from ctx's cancellation so that one caller
// going away does not fail the others, and is bounded by the issuer timeout.
func (ti *trustedIssuer) startDiscoveryLocked(ctx context.Context) *discovery {
	if ti.inflight != nil {
		return ti.inflight
	}
	d := &discovery{done: make(chan struct{})}
	ti.inflight = d
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ti.opts.timeout)
		defer cancel()
		v, algs, err := ti.discover(ctx)
		if err != nil {
			ti.opts.log.WarnContext(ctx, "discover OIDC issuer", "issuer", ti.cfg.URL, "error", err)
		} else {
			ti.opts.log.InfoContext(ctx, "discovered OIDC issuer", "issuer", ti.cfg.URL)
		}
		ti.mu.Lock()
		if err == nil {
			ti.verify, ti.algs = v, algs
		}
		ti.inflight = nil
		ti.mu.Unlock()
		d.err = err
		close(d.done)
	}()
	return d
}

// discover fetches the issuer's discovery document and returns a verifier
// that checks signatures against the issuer's JWKS, the audience and expiry.
func (ti *trustedIssuer) discover(ctx context.Context) (*oidc.IDTokenVerifier, []jose.SignatureAlgorithm, error) {
	unavailable := func(format string, args ...any) error {
		return fmt.Errorf("%w: discover issuer %q: %w", hallmark.ErrUnavailable, ti.cfg.URL, fmt.Errorf(format, args...))
	}
	var meta struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	wellKnown := strings.TrimSuffix(ti.cfg.URL, "/") + "/.well-known/openid-configuration"
	if _, err := getIssuerJSON(ctx, ti.opts.client, wellKnown, &meta); err != nil {
		return nil, nil, unavailable("%w", err)
	}
	if meta.Issuer != ti.cfg.URL {
		return nil, nil, unavailable("discovery document names issuer %q", hallmark.Clip(meta.Issuer, maxQuotedClaimBytes))
	}
	if u, err := url.Parse(meta.JWKSURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, nil, unavailable("jwks_uri %q is not an http(s) URL", hallmark.Clip(meta.JWKSURI, maxQuotedClaimBytes))
	}
	var algs []jose.SignatureAlgorithm
	for _, a := range meta.Algs {
		if alg := jose.SignatureAlgorithm(a); slices.Contains(acceptedAlgorithms, alg) && !slices.Contains(algs, alg) {
			algs = append(algs, alg)
		}
	}
	if len(meta.Algs) == 0 {
		algs = []jose.SignatureAlgorithm{jose.RS256} // the OIDC default
	}
	if len(algs) == 0 {
		return nil, nil, unavailable("issuer supports none of the accepted signing algorithms")
	}
	names := make([]string, len(algs))
	for i, a := range algs {
		names[i] = string(a)
	}
	keys := &remoteKeys{url: meta.JWKSURI, issuer: ti.cfg.URL, algs: algs, opts: ti.opts}
	v := oidc.NewVerifier(ti.cfg.URL, keys, &oidc.Config{ClientID: ti.cfg.Audience, SupportedSigningAlgs: names})
	return v, algs, nil
}

// explain turns a verification failure into an error for the caller. It uses
// what the key set observed, and claims only once the signature verified;
// it never quotes go-oidc's messages, which may quote the token.
func (ti *trustedIssuer) explain(err error, r *verifyReport, peek peekedClaims) error {
	switch {
	case r.unavailable != nil:
		return r.unavailable
	case !r.called:
		ti.mu.Lock()
		algs := ti.algs
		ti.mu.Unlock()
		return fmt.Errorf("%w: token from issuer %q is malformed or not signed with one of %v", hallmark.ErrUnauthenticated, ti.cfg.URL, algs)
	case !r.verified:
		return fmt.Errorf("%w: token signature does not verify with the keys of issuer %q", hallmark.ErrUnauthenticated, ti.cfg.URL)
	}
	if expired, ok := errors.AsType[*oidc.TokenExpiredError](err); ok {
		return fmt.Errorf("%w: token from issuer %q expired at %s", hallmark.ErrUnauthenticated, ti.cfg.URL, expired.Expiry.UTC().Format(time.RFC3339))
	}
	if !peek.hasAudience(ti.cfg.Audience) {
		return fmt.Errorf("%w: token audience does not include %q", hallmark.ErrUnauthenticated, ti.cfg.Audience)
	}
	return fmt.Errorf("%w: token from issuer %q is not valid (not yet valid, or malformed claims)", hallmark.ErrUnauthenticated, ti.cfg.URL)
}

// verifyReport records, for one Verify call, what the key set saw.
type verifyReport struct {
	called      bool  // the signature was checked
	verified    bool  // the signature verified
	unavailable error // the keys could not be fetched
}

type verifyReportKey struct{}

// remoteKeys is an issuer's JWKS, fetched on demand with bounded size and
// time, and cached. It implements oidc.KeySet.
type remoteKeys struct {
	url    string
	issuer string
	algs   []jose.SignatureAlgorithm
	opts   *authOptions

	mu       sync.Mutex
	keys     []jose.JSONWebKey
	fetched  time.Time // of the last successful fetch
	expires  time.Time // when keys go stale: the issuer's cache headers, at most maxKeyAge
	inflight *keyFetch
}

// maxKeyAge is the longest the gateway trusts a fetched key set: a key the
// issuer withdraws stops verifying tokens within this time, whatever its
// cache headers say.
const maxKeyAge = time.Hour

var _ oidc.KeySet = (*remoteKeys)(nil)

// keyFetch is one fetch of the JWKS; done closes when keys and err are set.
type keyFetch struct {
	done chan struct{}
	keys []jose.JSONWebKey
	err  error
}

// VerifySignature verifies the token's signature with the cached keys while
// they are fresh, or with freshly fetched ones when they went stale or no
// cached key verifies it. Stale keys are never used: if they cannot be
// fetched again, the token fails as unavailable (fail closed).
func (r *remoteKeys) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	report, _ := ctx.Value(verifyReportKey{}).(*verifyReport)
	if report == nil {
		report = &verifyReport{}
	}
	report.called = true
	jws, err := jose.ParseSignedCompact(raw, r.algs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errors.New("parse signed token")
	}
	kid := jws.Signatures[0].Header.KeyID

	r.mu.Lock()
	cached, fresh := r.keys, r.opts.now().Before(r.expires)
	r.mu.Unlock()
	if fresh {
		if payload, ok := verifyWithKeys(jws, kid, cached); ok {
			report.verified = true
			return payload, nil
		}
	}
	keys, err := r.refresh(ctx)
	if err != nil {
		report.unavailable = err
		return nil, err
	}
	if payload, ok := verifyWithKeys(jws, kid, keys); ok {
		report.verified = true
		return payload, nil
	}
	return nil, errors.New("no key verifies the signature")
}

func verifyWithKeys(jws *jose.JSONWebSignature, kid string, keys []jose.JSONWebKey) ([]byte, bool) {
	for _, k := range keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(k); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// refresh returns fresh keys: it fetches the JWKS unless it did so
// successfully less than the refresh interval ago and the keys have not gone
// stale, in which case it returns the cached keys. Concurrent callers share
// one fetch.
func (r *remoteKeys) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	r.mu.Lock()
	f := r.inflight
	if f == nil {
		if now := r.opts.now(); !r.fetched.IsZero() && now.Sub(r.fetched) < r.opts.refresh && now.Before(r.expires) {
			keys := r.keys
			r.mu.Unlock()
			return keys, nil
		}
		f = &keyFetch{done: make(chan struct{})}
		r.inflight = f
		go r.fetch(context.WithoutCancel(ctx), f)
	}
	r.mu.Unlock()

	select {
	case <-f.done:
		return f.keys, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: fetch keys of issuer %q: %w", hallmark.ErrUnavailable, r.issuer, context.Cause(ctx))
	}
}

// fetch runs one JWKS fetch, bounded by the issuer timeout, and completes f.
func (r *remoteKeys) fetch(ctx context.Context, f *keyFetch) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.timeout)
	defer cancel()
	keys, ttl, err := r.fetchKeys(ctx)
	if err != nil {
		err = fmt.Errorf("%w: fetch keys of issuer %q: %w", hallmark.ErrUnavailable, r.issuer, err)
		r.opts.log.WarnContext(ctx, "fetch OIDC issuer keys", "issuer", r.issuer, "error", err)
	}
	r.mu.Lock()
	if err == nil {
		now := r.opts.now()
		r.keys, r.fetched, r.expires = keys, now, now.Add(ttl)
	}
	r.inflight = nil
	r.mu.Unlock()
	f.keys, f.err = keys, err
	close(f.done)
}

// fetchKeys fetches the JWKS and returns its signing keys and how long they
// may be used (keyTTL).
func (r *remoteKeys) fetchKeys(ctx context.Context) ([]jose.JSONWebKey, time.Duration, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	header, err := getIssuerJSON(ctx, r.opts.client, r.url, &set)
	if err != nil {
		return nil, 0, err
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := json.Unmarshal(raw, &k); err != nil {
			continue // a key type this gateway does not use
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if pub := k.Public(); pub.Valid() {
			keys = append(keys, pub)
		}
	}
	if len(keys) == 0 {
		return nil, 0, errors.New("JWKS has no usable signing key")
	}
	return keys, keyTTL(header, r.opts.now(), r.opts.refresh), nil
}

// keyTTL is how long a key set served with header may be used: its
// Cache-Control max-age (or its Expires), at least floor (the refresh
// interval, so that an issuer that forbids caching is not asked on every
// token) and at most maxKeyAge. Without cache headers it is maxKeyAge.
func keyTTL(header http.Header, now time.Time, floor time.Duration) time.Duration {
	ttl := maxKeyAge
	if maxAge, ok := cacheMaxAge(header.Get("Cache-Control")); ok {
		ttl = maxAge
	} else if exp, err := http.ParseTime(header.Get("Expires")); err == nil {
		ttl = exp.Sub(now)
	}
	return min(max(ttl, floor), maxKeyAge)
}

// cacheMaxAge reads a Cache-Control header: no-store and no-cache mean 0,
// max-age=N means N seconds.
func cacheMaxAge(v string) (time.Duration, bool) {
	for d := range strings.SplitSeq(v, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "no-store" || d == "no-cache" {
			return 0, true
		}
		if n, ok := strings.CutPrefix(d, "max-age="); ok {
			secs, err := strconv.ParseInt(strings.Trim(n, `"`), 10, 64)
			if err != nil || secs < 0 {
				return 0, true // unreadable: treat as "do not cache"
			}
			return time.Duration(min(secs, int64(maxKeyAge/time.Second))) * time.Second, true
		}
	}
	return 0, false
}

// getIssuerJSON GETs u and decodes its JSON body of at most
// maxIssuerResponseBytes into v. It returns the response's headers.
func getIssuerJSON(ctx context.Context, client *http.Client, u string, v any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("create request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIssuerResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", u, err)
	}
	if len(body) > maxIssuerResponseBytes {
		return nil, fmt.Errorf("read %s: response is larger than %d bytes", u, maxIssuerResponseBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", u, err)
	}
	return resp.Header, nil
}
