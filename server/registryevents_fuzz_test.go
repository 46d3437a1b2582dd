package server

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

// FuzzRegistryEvents: an envelope never panics the parser; what it
// accepts is a registry event of the configured registry that the store
// takes, with every text cleaned; what it refuses is ErrInvalid or
// ErrTooLarge.
func FuzzRegistryEvents(f *testing.F) {
	d := fixDigest("a")
	for _, s := range [][]byte{
		envelope(notification("e1", "push", manifestV2, "team/app", "v1", d, "alice")),
		envelope(notification("e1", "pull", "application/vnd.oci.image.index.v1+json", "a", "", d, ""),
			notification("e2", "push", "application/octet-stream", "a", "", d, "")),
		envelope(`{"id":"e5","action":"delete","target":{"digest":"` + string(d) + `","repository":"a/b"}}`),
		envelope(`{"id":"e6","action":"delete","target":{"tag":"v1","repository":"a/b"}}`),
		envelope(`{"id":"e7","action":"delete","target":{"repository":"a/b"}}`),
		envelope(`{"action":"mount","target":{"digest":"sha512:00","repository":"a","fromRepository":"b"}}`),
		[]byte(`{"events":[{"id":"x","timestamp":"9999-01-01T00:00:00Z","action":"push","target":{"mediaType":"` + manifestV2 + `","digest":"` + string(d) + `","repository":"a__b/c-d.e"}}]}`),
		[]byte(`{"events":null}`), []byte(`[]`), []byte(`{"events":[{"target":{"size":"1"}}]}`), []byte("\x00"),
	} {
		f.Add(s)
	}
	for _, s := range registryFixtures(f) {
		f.Add(s)
	}
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		events, skipped, received, err := registryEvents(body, eventsRegistry, now)
		if err != nil {
			if !errors.Is(err, hallmark.ErrInvalid) && !errors.Is(err, hallmark.ErrTooLarge) {
				t.Fatalf("error %v is neither ErrInvalid nor ErrTooLarge", err)
			}
			if len(err.Error()) > 600 {
				t.Errorf("an error of %d bytes", len(err.Error()))
			}
			return
		}
		if len(events)+skipped != received || received > maxRegistryEvents {
			t.Fatalf("%d events + %d skipped of %d received", len(events), skipped, received)
		}
		for _, e := range events {
			checkRegistryEvent(t, e, now)
		}
	})
}

// checkRegistryEvent fails unless e is what RecordRegistryEvents takes,
// names the configured registry, and carries no control character.
func checkRegistryEvent(t *testing.T, e store.RegistryEvent, now time.Time) {
	t.Helper()
	switch {
	case e.ID == "" || len(e.ID) > maxEventIDBytes:
		t.Errorf("id %q", e.ID)
	case e.Kind != store.KindPush && e.Kind != store.KindPull && e.Kind != store.KindDelete:
		t.Errorf("kind %q", e.Kind)
	case !strings.HasPrefix(e.Repository, eventsRegistry+"/"):
		t.Errorf("repository %q is not in %s", e.Repository, eventsRegistry)
	case e.Digest == "" && (e.Kind != store.KindDelete || e.Tag == ""):
		t.Errorf("a %s without a digest", e.Kind)
	case e.At.IsZero() || e.At.After(now.Add(maxEventSkew)):
		t.Errorf("time %s", e.At)
	}
	if e.Digest != "" {
		if _, err := hallmark.ParseDigest(string(e.Digest)); err != nil {
			t.Errorf("digest %q", e.Digest)
		}
	}
	for _, s := range []string{e.ID, e.Repository, e.Tag, e.MediaType, e.Actor, e.Addr, e.Method, e.UserAgent, e.Instance} {
		if strings.IndexFunc(s, unicode.IsControl) >= 0 || len(s) > maxEventTextBytes+len("…") {
			t.Errorf("value %q", s)
		}
	}
}

// registryFixtures are envelopes as Debian's docker-registry (distribution
// 2.8.2) posted them: a tag pushed, pulled with HEAD, its manifest deleted,
// and the deletion of its tag that follows.
func registryFixtures(tb testing.TB) map[string][]byte {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "registryevents", "*.json"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("registry event fixtures: %v", err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = b
	}
	return out
}
