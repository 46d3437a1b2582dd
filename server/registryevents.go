package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// RegistryEventsPath is where a registry posts its notifications.
const RegistryEventsPath = "/registry/events"

// Media types of a notification envelope: distribution 2.x sends v1,
// distribution 3 v2 (the same fields).
var registryEventsMediaTypes = []string{
	"application/vnd.docker.distribution.events.v1+json",
	"application/vnd.docker.distribution.events.v2+json",
	"application/json",
}

// registryEventsTimeout bounds the store's write of one envelope. The
// write goes on when the registry gives up first: the registry then sends
// the envelope again, and the store skips the events it recorded.
const registryEventsTimeout = 5 * time.Second

// minRegistryEventsToken is the shortest token WithRegistryEvents takes.
const minRegistryEventsToken = 16

// registryEventsEndpoint is the configuration of POST /registry/events.
type registryEventsEndpoint struct {
	token    []byte
	registry string
}

// WithRegistryEvents serves POST /registry/events, where the distribution
// registry at registry ("host[:port]", as image references name it) posts
// its notifications with "Authorization: Bearer <token>" (compared in
// constant time). Its manifest pushes, pulls and deletions are recorded in
// the store (WithStore, required) as audit records of the repository
// "registry/<target.repository>": the registry is the one named here,
// never one an event names. The token must be at least 16 characters of
// an RFC 6750 bearer token. The default serves no registry events.
func WithRegistryEvents(token, registry string) Option {
	return func(s *Server) error {
		if len(token) < minRegistryEventsToken || !isB64Token(token) {
			return fmt.Errorf("%w: registry events token: want at least %d characters of an RFC 6750 bearer token (letters, digits, -._~+/ and trailing =)", hallmark.ErrInvalid, minRegistryEventsToken)
		}
		host, err := registryHost(registry)
		if err != nil {
			return fmt.Errorf("registry events: %w", err)
		}
		s.registryEvents = &registryEventsEndpoint{token: []byte(token), registry: host}
		return nil
	}
}

// serveRegistryEvents answers a registry's notification: 204 when its
// manifest events are recorded (or were before), 401 without the token,
// 415 for another media type, 413 over 1 MiB or 1000 events, 400 for an
// envelope that is not valid, 503 when the store did not take it, so
// that the registry sends it again.
func (s *Server) serveRegistryEvents(w http.ResponseWriter, r *http.Request) {
	ep, ctx := s.registryEvents, r.Context()
	answer := func(code int, msg string) {
		s.metrics.registryRequests.WithLabelValues(strconv.Itoa(code)).Inc()
		if code == http.StatusNoContent {
			w.WriteHeader(code)
			return
		}
		http.Error(w, msg, code)
	}
	got, err := bearerToken(r.Header, len(ep.token))
	if err != nil || subtle.ConstantTimeCompare([]byte(got), ep.token) != 1 {
		s.log.WarnContext(ctx, "registry events refused: no valid token", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="hallmark registry events"`)
		answer(http.StatusUnauthorized, "registry events need the bearer token of the gateway's registryEvents.tokenFile")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || !slices.Contains(registryEventsMediaTypes, mt) {
		answer(http.StatusUnsupportedMediaType, "registry events are application/vnd.docker.distribution.events.v1+json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRegistryEventsBytes))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			answer(http.StatusRequestEntityTooLarge, fmt.Sprintf("registry events: the envelope is over %d bytes", maxRegistryEventsBytes))
			return
		}
		answer(http.StatusBadRequest, "registry events: reading the envelope failed")
		return
	}
	events, skipped, received, err := registryEvents(body, ep.registry, time.Now().UTC())
	s.metrics.registryEventsReceived.Add(float64(received))
	if err != nil {
		s.metrics.registryEvents.WithLabelValues("rejected").Add(float64(received))
		s.log.WarnContext(ctx, "registry events refused", "registry", ep.registry, "events", received, "error", err)
		code := http.StatusBadRequest
		if errors.Is(err, hallmark.ErrTooLarge) {
			code = http.StatusRequestEntityTooLarge
		}
		answer(code, "registry events: "+publicMessage(err))
		return
	}
	s.metrics.registryEvents.WithLabelValues("skipped").Add(float64(skipped))
	if len(events) > 0 {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), registryEventsTimeout)
		err = s.store.RecordRegistryEvents(wctx, events)
		cancel()
		if errors.Is(err, hallmark.ErrInvalid) {
			s.metrics.registryEvents.WithLabelValues("rejected").Add(float64(len(events)))
			s.log.WarnContext(ctx, "registry events refused by the store", "registry", ep.registry, "events", len(events), "error", err)
			answer(http.StatusBadRequest, "registry events: "+publicMessage(err))
			return
		}
		if err != nil {
			s.metrics.registryEvents.WithLabelValues("rejected").Add(float64(len(events)))
			s.log.ErrorContext(ctx, "registry events not recorded; the registry will send them again", "registry", ep.registry, "events", len(events), "error", err)
			w.Header().Set("Retry-After", "1")
			answer(http.StatusServiceUnavailable, "registry events: the gateway's store did not record them; send them again")
			return
		}
	}
	s.metrics.registryEvents.WithLabelValues("recorded").Add(float64(len(events)))
	s.log.DebugContext(ctx, "registry events recorded", "registry", ep.registry, "recorded", len(events), "skipped", skipped)
	answer(http.StatusNoContent, "")
}
