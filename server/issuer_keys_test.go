package server

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

func TestKeyTTL(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	floor := 10 * time.Second
	tests := []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{name: "no headers: at most an hour", want: time.Hour},
		{name: "max-age", header: map[string]string{"Cache-Control": "public, max-age=300"}, want: 5 * time.Minute},
		{name: "max-age above an hour is clamped", header: map[string]string{"Cache-Control": "max-age=86400"}, want: time.Hour},
		{name: "huge max-age is clamped", header: map[string]string{"Cache-Control": "max-age=99999999999999999"}, want: time.Hour},
		{name: "max-age past int64 is unreadable: no caching", header: map[string]string{"Cache-Control": "max-age=99999999999999999999"}, want: floor},
		{name: "max-age below the refresh interval", header: map[string]string{"Cache-Control": "max-age=1"}, want: floor},
		{name: "no-store", header: map[string]string{"Cache-Control": "no-store"}, want: floor},
		{name: "no-cache wins over a later max-age", header: map[string]string{"Cache-Control": "no-cache, max-age=600"}, want: floor},
		{name: "negative max-age", header: map[string]string{"Cache-Control": "max-age=-5"}, want: floor},
		{name: "Expires", header: map[string]string{"Expires": now.Add(20 * time.Minute).Format(http.TimeFormat)}, want: 20 * time.Minute},
		{name: "Expires in the past", header: map[string]string{"Expires": now.Add(-time.Minute).Format(http.TimeFormat)}, want: floor},
		{name: "max-age wins over Expires", header: map[string]string{"Cache-Control": "max-age=60", "Expires": now.Add(20 * time.Minute).Format(http.TimeFormat)}, want: time.Minute},
		{name: "bad Expires", header: map[string]string{"Expires": "soon"}, want: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			if got := keyTTL(h, now, floor); got != tt.want {
				t.Errorf("keyTTL(%v) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

// TestWithdrawnKeyStopsVerifying: a key the issuer withdraws keeps
// verifying only until the key set's cache lifetime ends (the issuer's
// max-age), then tokens signed with it fail. If the issuer cannot be
// reached once the keys went stale, tokens fail as unavailable: stale keys
// are never used.
func TestWithdrawnKeyStopsVerifying(t *testing.T) {
	iss := startTestIssuer(t)
	cc := "max-age=120"
	iss.jwksCache.Store(&cc)
	var (
		mu  sync.Mutex
		now = time.Now()
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	a := newTestAuthenticator(t, []string{iss.url}, WithKeyRefreshInterval(time.Second))
	a.opts.now = clock
	a.tokens.now = clock

	old := []string{iss.mint(t, "a", testAudience, nil), iss.mint(t, "b", testAudience, nil), iss.mint(t, "c", testAudience, nil), iss.mint(t, "d", testAudience, nil)}
	if _, err := a.Authenticate(t.Context(), old[0]); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	iss.rotate(t) // the old key is withdrawn
	advance(119 * time.Second)
	if _, err := a.Authenticate(t.Context(), old[1]); err != nil {
		t.Errorf("within max-age, a token of the withdrawn key = %v; want it still trusted", err)
	}
	advance(2 * time.Second)
	if _, err := a.Authenticate(t.Context(), old[2]); !errors.Is(err, hallmark.ErrUnauthenticated) {
		t.Errorf("after max-age, a token of the withdrawn key = %v; want ErrUnauthenticated", err)
	}
	if _, err := a.Authenticate(t.Context(), iss.mint(t, "e", testAudience, nil)); err != nil {
		t.Errorf("a token of the new key = %v", err)
	}

	// The keys go stale while the issuer is down: fail closed.
	advance(121 * time.Second)
	iss.down.Store(true)
	if _, err := a.Authenticate(t.Context(), iss.mint(t, "f", testAudience, nil)); !errors.Is(err, hallmark.ErrUnavailable) {
		t.Errorf("stale keys, issuer down = %v; want ErrUnavailable", err)
	}
}
