package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/contextstore"
	"github.com/hallmark-dev/hallmark/store"
)

const (
	eventsToken    = "registry-events-token-0123456789"
	eventsRegistry = "reg.example:5000"
	eventsMedia    = "application/vnd.docker.distribution.events.v1+json"
	manifestV2     = "application/vnd.docker.distribution.manifest.v2+json"
)

// notification is one event as distribution 2.8 posts it: action on a
// target of media type mt in repo, with tag (empty: by digest) and digest
// d, by user ("" for an anonymous request).
func notification(id, action, mt, repo, tag string, d hallmark.Digest, user string) string {
	actor := "{}"
	if user != "" {
		actor = fmt.Sprintf(`{"name":%q}`, user)
	}
	return fmt.Sprintf(`{"id":%q,"timestamp":"2026-12-02T10:00:00.123456789Z","action":%q,
		"target":{"mediaType":%q,"size":708,"digest":%q,"length":708,"repository":%q,"url":"http://evil.example/v2/%s/manifests/%s","tag":%q},
		"request":{"id":"r-1","addr":"10.0.0.7:41000","host":"evil.example","method":"PUT","useragent":"docker/27.0 go/go1.22\u0007"},
		"actor":%s,"source":{"addr":"registry-0:5000","instanceID":"i-1"}}`, id, action, mt, d, repo, repo, d, tag, actor)
}

func envelope(events ...string) []byte {
	return []byte(`{"events":[` + strings.Join(events, ",") + `]}`)
}

// eventsEnv is a gateway taking the events of eventsRegistry into a
// SQLite store.
func eventsEnv(t *testing.T, st Store) (*testEnv, *store.DB) {
	t.Helper()
	db := openTestStore(t)
	if st == nil {
		st = db
	}
	e := newTestEnv(t, &fakeBuilder{}, envConfig{opts: []Option{WithStore(st), WithRegistryEvents(eventsToken, eventsRegistry)}})
	e.tokens = append(e.tokens, eventsToken)
	return e, db
}

// postEvents posts body with the token tok and content type ct, and
// returns the status and the body of the answer.
func postEvents(t *testing.T, e *testEnv, tok, ct string, body []byte) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+RegistryEventsPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", ct)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(msg)), resp.Header
}

func registryRecords(t *testing.T, db *store.DB) []store.Event {
	t.Helper()
	got, _, err := db.Audit(t.Context(), store.AuditQuery{Readable: func(string) bool { return true }, Kinds: []string{store.KindPush, store.KindPull, store.KindDelete}})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRegistryEventsRecorded(t *testing.T) {
	e, db := eventsEnv(t, nil)
	d := fixDigest("a")
	body := envelope(
		notification("e1", "push", "application/octet-stream", "team/app", "", fixDigest("b"), "alice"), // a layer
		notification("e2", "push", manifestV2, "team/app", "v1", d, "alice"),
		notification("e3", "mount", "application/octet-stream", "team/app", "", fixDigest("c"), "alice"),
		notification("e4", "pull", "application/vnd.oci.image.index.v1+json", "team/app", "v1", d, ""),
		`{"id":"e5","action":"delete","target":{"digest":"`+string(d)+`","repository":"team/app"},"request":{"method":"DELETE"},"actor":{"name":"bob"}}`,
		`{"id":"e6","action":"delete","target":{"tag":"v1","repository":"team/app"},"actor":{"name":"bob"}}`,
	)
	for range 2 { // the registry sends it again: recorded once
		if code, msg, _ := postEvents(t, e, eventsToken, eventsMedia+"; charset=utf-8", body); code != http.StatusNoContent {
			t.Fatalf("POST %s: %d %s", RegistryEventsPath, code, msg)
		}
	}
	got := registryRecords(t, db)
	want := []struct{ kind, actor, subject string }{
		{store.KindPush, "alice", "v1"}, {store.KindPull, "10.0.0.7:41000", "v1"}, {store.KindDelete, "bob", ""}, {store.KindDelete, "bob", "v1"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		r := got[i]
		if r.Kind != w.kind || r.Actor != w.actor || r.Subject != w.subject || r.Repository != eventsRegistry+"/team/app" {
			t.Errorf("record %d: %+v, want %+v in %s/team/app", i, r, w, eventsRegistry)
		}
	}
	if p := got[0]; p.Digest != d || !strings.Contains(string(p.Detail), "\"userAgent\":\"docker/27.0 go/go1.22\ufffd\"") ||
		!strings.Contains(string(p.Detail), `"mediaType":"`+manifestV2+`"`) || strings.Contains(string(p.Detail), "evil.example") {
		t.Errorf("push record %+v, detail %s", p, p.Detail)
	}
	for _, m := range []string{
		`hallmark_registry_events_received_total 12`,
		`hallmark_registry_events_total{result="recorded"} 8`,
		`hallmark_registry_events_total{result="skipped"} 4`,
		`hallmark_registry_event_requests_total{code="204"} 2`,
	} {
		name, _, _ := strings.Cut(m, " ")
		if lines := metricLines(t, e, name); len(lines) != 1 || lines[0] != m {
			t.Errorf("metric %q, want %q", lines, m)
		}
	}
}

// TestRegistryEventsFromDistribution reads what a real registry sent.
func TestRegistryEventsFromDistribution(t *testing.T) {
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	d := hallmark.Digest("sha256:962b1ae83825c37b6eb3ee98dbe587461074a338cc0b838a635d274e2844096d")
	want := map[string]store.RegistryEvent{
		"push": {ID: "dae15fae-f126-4b43-a5c0-ebed8f049e35", At: time.Date(2026, 12, 5, 7, 59, 47, 133424317, time.UTC), Kind: store.KindPush,
			Addr: "127.0.0.1:51596", Repository: "reg.example:5000/team/app", Digest: d, Tag: "v1", MediaType: "application/vnd.oci.image.manifest.v1+json",
			Size: 247, Method: "PUT", UserAgent: "curl/7.88.1", Instance: "6c111e74-2269-4152-a1d0-1c2d34bb0b2f"},
		"pull-head": {ID: "1ace50c9-974b-4697-8dd6-ce7383de97ae", At: time.Date(2026, 12, 5, 7, 59, 47, 231267461, time.UTC), Kind: store.KindPull,
			Addr: "127.0.0.1:51618", Repository: "reg.example:5000/team/app", Digest: d, Tag: "v1", MediaType: "application/vnd.oci.image.manifest.v1+json",
			Size: 247, Method: "HEAD", UserAgent: "curl/7.88.1", Instance: "6c111e74-2269-4152-a1d0-1c2d34bb0b2f"},
		"delete-manifest": {ID: "6fc9d371-e8ed-4be6-acc0-ae25374acfa9", At: time.Date(2026, 12, 5, 7, 59, 51, 494124502, time.UTC), Kind: store.KindDelete,
			Addr: "127.0.0.1:51396", Repository: "reg.example:5000/team/app", Digest: d, Method: "DELETE", UserAgent: "curl/7.88.1", Instance: "6c111e74-2269-4152-a1d0-1c2d34bb0b2f"},
		"delete-tag": {ID: "029a7908-f8a7-4d51-97b1-96e93147c36c", At: time.Date(2026, 12, 5, 7, 59, 51, 496605245, time.UTC), Kind: store.KindDelete,
			Addr: "127.0.0.1:51396", Repository: "reg.example:5000/team/app", Tag: "v1", Method: "DELETE", UserAgent: "curl/7.88.1", Instance: "6c111e74-2269-4152-a1d0-1c2d34bb0b2f"},
	}
	for name, body := range registryFixtures(t) {
		events, skipped, received, err := registryEvents(body, eventsRegistry, now)
		if err != nil || skipped != 0 || received != 1 || len(events) != 1 {
			t.Fatalf("%s: %d events, %d skipped of %d, %v", name, len(events), skipped, received, err)
		}
		if events[0] != want[name] {
			t.Errorf("%s:\n got %+v\nwant %+v", name, events[0], want[name])
		}
	}
}

func TestRegistryEventsRefused(t *testing.T) {
	e, db := eventsEnv(t, nil)
	good := notification("e1", "push", manifestV2, "team/app", "v1", fixDigest("a"), "alice")
	many := make([]string, maxRegistryEvents+1)
	for i := range many {
		many[i] = good
	}
	tests := []struct {
		name, tok, ct string
		body          []byte
		code          int
		msg           string
	}{
		{"no token", "", eventsMedia, envelope(good), http.StatusUnauthorized, "bearer token"},
		{"wrong token", eventsToken + "x", eventsMedia, envelope(good), http.StatusUnauthorized, "bearer token"},
		{"an API token", e.token, eventsMedia, envelope(good), http.StatusUnauthorized, "bearer token"},
		{"media type", eventsToken, "text/plain", envelope(good), http.StatusUnsupportedMediaType, "events.v1+json"},
		{"no media type", eventsToken, "", envelope(good), http.StatusUnsupportedMediaType, "events.v1+json"},
		{"over 1 MiB", eventsToken, eventsMedia, append(envelope(good), bytes.Repeat([]byte(" "), maxRegistryEventsBytes)...), http.StatusRequestEntityTooLarge, "bytes"},
		{"too many events", eventsToken, eventsMedia, envelope(many...), http.StatusRequestEntityTooLarge, "more than 1000 events"},
		{"not JSON", eventsToken, eventsMedia, []byte("events: []"), http.StatusBadRequest, "not JSON"},
		{"a list", eventsToken, eventsMedia, []byte("[]"), http.StatusBadRequest, "not a JSON object"},
		{"wrong type", eventsToken, eventsMedia, []byte(`{"events":[{"id":"e1","action":"push","target":{"size":"big"}}]}`), http.StatusBadRequest, "events.target.size"},
		{"action", eventsToken, eventsMedia, envelope(good, notification("e2", "rename", manifestV2, "team/app", "v1", fixDigest("a"), "")), http.StatusBadRequest, `events[1]: action "rename"`},
		{"digest", eventsToken, eventsMedia, envelope(notification("e2", "push", manifestV2, "team/app", "v1", "sha256:ABC", "")), http.StatusBadRequest, "target.digest"},
		{"no digest", eventsToken, eventsMedia, envelope(notification("e2", "pull", manifestV2, "team/app", "v1", "", "")), http.StatusBadRequest, "target.digest is missing"},
		{"repository", eventsToken, eventsMedia, envelope(notification("e2", "push", manifestV2, "Team/App", "v1", fixDigest("a"), "")), http.StatusBadRequest, "target.repository"},
		{"registry in the repository", eventsToken, eventsMedia, envelope(notification("e2", "push", manifestV2, "evil.example:5000/app", "v1", fixDigest("a"), "")), http.StatusBadRequest, "target.repository"},
		{"tag", eventsToken, eventsMedia, envelope(notification("e2", "push", manifestV2, "team/app", "-v1", fixDigest("a"), "")), http.StatusBadRequest, "target.tag"},
		{"no id", eventsToken, eventsMedia, envelope(notification("", "push", manifestV2, "team/app", "v1", fixDigest("a"), "")), http.StatusBadRequest, "id"},
		{"negative size", eventsToken, eventsMedia, envelope(strings.Replace(good, `"size":708`, `"size":-1`, 1)), http.StatusBadRequest, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg, h := postEvents(t, e, tt.tok, tt.ct, tt.body)
			if code != tt.code || !strings.Contains(msg, tt.msg) || len(msg) > 300 {
				t.Errorf("answer %d %q, want %d with %q", code, msg, tt.code, tt.msg)
			}
			if code == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	if got := registryRecords(t, db); len(got) != 0 {
		t.Errorf("refused envelopes recorded %+v", got)
	}
	resp, err := e.srv.Client().Get(e.srv.URL + RegistryEventsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: %s", RegistryEventsPath, resp.Status)
	}
	if lines := metricLines(t, e, `hallmark_registry_event_requests_total{code="401"}`); len(lines) != 1 || !strings.HasSuffix(lines[0], " 3") {
		t.Errorf("401s counted %q", lines)
	}
}

// eventsDown is a store that cannot record registry events.
type eventsDown struct{ *store.DB }

func (eventsDown) RecordRegistryEvents(context.Context, []store.RegistryEvent) error {
	return errors.New("connection refused")
}

func TestRegistryEventsStoreDown(t *testing.T) {
	e, _ := eventsEnv(t, eventsDown{openTestStore(t)})
	code, msg, h := postEvents(t, e, eventsToken, eventsMedia, envelope(notification("e1", "push", manifestV2, "team/app", "v1", fixDigest("a"), "alice")))
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || strings.Contains(msg, "refused") {
		t.Errorf("store down: %d %q, want 503 without the cause", code, msg)
	}
	if !strings.Contains(e.logs.String(), "connection refused") {
		t.Error("the cause is not logged")
	}
	// Blob events alone need no store.
	if code, msg, _ := postEvents(t, e, eventsToken, "application/json", envelope(notification("e2", "pull", "application/octet-stream", "team/app", "", fixDigest("b"), ""))); code != http.StatusNoContent {
		t.Errorf("blob events while the store is down: %d %q", code, msg)
	}
}

func TestWithRegistryEvents(t *testing.T) {
	tests := []struct {
		name, token, registry string
		wantRegistry          string
	}{
		{"short token", "short", eventsRegistry, ""},
		{"token with a space", "abcdefgh ijklmnopqrstuvwxyz", eventsRegistry, ""},
		{"no registry", eventsToken, "", ""},
		{"a path", eventsToken, "reg.example/team", ""},
		{"not a host", eventsToken, "registry", ""},
		{"a URL", eventsToken, "http://reg.example", ""},
		{"host and port", eventsToken, eventsRegistry, eventsRegistry},
		{"localhost", eventsToken, "localhost", "localhost"},
		{"Docker Hub", eventsToken, "docker.io", "index.docker.io"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{}
			err := WithRegistryEvents(tt.token, tt.registry)(s)
			if tt.wantRegistry == "" {
				if !errors.Is(err, hallmark.ErrInvalid) || strings.Contains(err.Error(), tt.token) {
					t.Errorf("error %v, want ErrInvalid without the token", err)
				}
				return
			}
			if err != nil || s.registryEvents.registry != tt.wantRegistry {
				t.Errorf("registry %+v, %v; want %s", s.registryEvents, err, tt.wantRegistry)
			}
		})
	}
	contexts, err := contextstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	authz, err := NewAuthorizer(nil)
	if err != nil {
		t.Fatal(err)
	}
	authn := newTestAuthenticator(t, []string{"https://issuer.example"})
	if _, err := New(&fakeBuilder{}, contexts, authn, authz, WithRegistryEvents(eventsToken, eventsRegistry)); err == nil || !strings.Contains(err.Error(), "need a store") {
		t.Errorf("registry events without a store: %v", err)
	}
}
