package server

import (
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

func TestTokenCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newTokenCache(time.Minute, func() time.Time { return now })
	id := hallmark.Identity{Issuer: "https://issuer.example", Subject: "ci"}

	c.put("tok-a", id, now.Add(time.Hour))
	c.put("tok-b", id, now.Add(10*time.Second)) // expires before the TTL
	c.put("tok-c", id, now.Add(-time.Second))   // already expired: not kept
	if got, ok := c.get("tok-a"); !ok || got.Subject != "ci" {
		t.Errorf("get(tok-a) = %v, %v", got, ok)
	}
	if _, ok := c.get("tok-c"); ok {
		t.Error("an expired token was cached")
	}
	if _, ok := c.get("tok-other"); ok {
		t.Error("an unknown token hit")
	}
	now = now.Add(11 * time.Second)
	if _, ok := c.get("tok-b"); ok {
		t.Error("a token was served past its expiry")
	}
	if _, ok := c.get("tok-a"); !ok {
		t.Error("tok-a expired before the TTL")
	}
	now = now.Add(time.Minute)
	if _, ok := c.get("tok-a"); ok {
		t.Error("a token was served past the TTL")
	}
	for k := range c.entries {
		if string(k[:]) == "tok-a" {
			t.Error("the raw token is a key")
		}
	}

	off := newTokenCache(0, time.Now)
	off.put("tok-a", id, time.Now().Add(time.Hour))
	if _, ok := off.get("tok-a"); ok {
		t.Error("a disabled cache served a token")
	}

	full := newTokenCache(time.Minute, func() time.Time { return now })
	for i := range maxCachedTokens + 10 {
		full.put(string(rune(i))+"-tok", id, now.Add(time.Hour))
	}
	if len(full.entries) > maxCachedTokens {
		t.Errorf("cache holds %d entries, over %d", len(full.entries), maxCachedTokens)
	}
}

// TestAuthenticateCachesOnlySuccesses: a bad token is rejected every time,
// a good one verified once is accepted from the cache.
func TestAuthenticateCachesOnlySuccesses(t *testing.T) {
	iss := startTestIssuer(t)
	a := newTestAuthenticator(t, []string{iss.url})
	good := iss.mint(t, "repo:acme/app:ref:refs/heads/main", testAudience, nil)
	for range 2 {
		if _, err := a.Authenticate(t.Context(), good); err != nil {
			t.Fatalf("Authenticate(good) = %v", err)
		}
	}
	if _, ok := a.tokens.get(good); !ok {
		t.Error("a verified token is not cached")
	}
	bad := good[:len(good)-4] + "AAAA"
	for range 2 {
		if _, err := a.Authenticate(t.Context(), bad); err == nil {
			t.Fatal("a token with a broken signature was accepted")
		}
	}
	if _, ok := a.tokens.get(bad); ok {
		t.Error("a rejected token is cached")
	}
}
