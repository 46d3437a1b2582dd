package server

import (
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// DefaultTokenCacheTTL is how long a verified token's identity is reused.
const DefaultTokenCacheTTL = time.Minute

// maxCachedTokens bounds the token cache; when full, expired entries are
// dropped, then the cache is cleared.
const maxCachedTokens = 4096

// tokenCache remembers the identities of tokens that verified, by the
// sha256 of the token (the token itself is never kept), until the token
// expires or ttl passes, whichever is first. Verifying a token's signature
// costs more than the rest of a cached Verify call; a CI job or an
// admission controller sends the same token many times.
type tokenCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[[sha256.Size]byte]cachedToken
}

type cachedToken struct {
	id      hallmark.Identity
	expires time.Time
}

func newTokenCache(ttl time.Duration, now func() time.Time) *tokenCache {
	return &tokenCache{ttl: ttl, now: now, entries: map[[sha256.Size]byte]cachedToken{}}
}

func (c *tokenCache) get(raw string) (hallmark.Identity, bool) {
	if c == nil || c.ttl <= 0 {
		return hallmark.Identity{}, false
	}
	key := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return hallmark.Identity{}, false
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, key)
		return hallmark.Identity{}, false
	}
	return e.id, true
}

// put remembers id for raw until expiry (the token's exp) or the TTL.
func (c *tokenCache) put(raw string, id hallmark.Identity, expiry time.Time) {
	if c == nil || c.ttl <= 0 {
		return
	}
	now := c.now()
	until := now.Add(c.ttl)
	if !expiry.IsZero() && expiry.Before(until) {
		until = expiry
	}
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedTokens {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCachedTokens {
			clear(c.entries)
		}
	}
	c.entries[sha256.Sum256([]byte(raw))] = cachedToken{id: id, expires: until}
}

// WithTokenCache reuses a verified token's identity for up to ttl (never
// past the token's expiry) instead of verifying its signature again; 0
// turns the cache off. A cached token stays accepted for up to ttl after
// its issuer's key is withdrawn. The default is DefaultTokenCacheTTL (1m).
func WithTokenCache(ttl time.Duration) AuthOption {
	return func(o *authOptions) error {
		if ttl < 0 {
			return errors.New("token cache TTL is negative")
		}
		o.tokenTTL = ttl
		return nil
	}
}
