package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/types"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/store"
)

// Limits of a registry's notification envelope.
const (
	// maxRegistryEventsBytes bounds an envelope's body. A registry sends
	// one event per envelope (distribution 2.8 and 3).
	maxRegistryEventsBytes = 1 << 20
	// maxRegistryEvents bounds the events of one envelope.
	maxRegistryEvents = 1000
	// maxEventIDBytes bounds an event id (the registry's are UUIDs).
	maxEventIDBytes = 256
	// maxEventTextBytes bounds what an event says about the request and
	// the registry (user, address, user agent, method, instance): longer
	// values are clipped.
	maxEventTextBytes = 512
	// maxEventSkew is how far in the future an event's timestamp may lie;
	// a later one is replaced by the time the event arrived.
	maxEventSkew = time.Minute
)

// registryEnvelope is the body a distribution registry posts to a
// notification endpoint (application/vnd.docker.distribution.events.v1+json
// from distribution 2.x, v2+json from 3.x, the same fields).
type registryEnvelope struct {
	Events []registryNotification `json:"events"`
}

// registryNotification is one event of an envelope. Fields the gateway
// does not record (target.url, target.references, request.host) are not
// read: the registry is named by the gateway's configuration, never by
// what the event says.
type registryNotification struct {
	ID        string    `json:"id"`
	Timestamp time.Time `json:"timestamp"`
	Action    string    `json:"action"`
	Target    struct {
		MediaType  string `json:"mediaType"`
		Size       int64  `json:"size"`
		Digest     string `json:"digest"`
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
	} `json:"target"`
	Request struct {
		Addr      string `json:"addr"`
		Method    string `json:"method"`
		UserAgent string `json:"useragent"`
	} `json:"request"`
	Actor struct {
		Name string `json:"name"`
	} `json:"actor"`
	Source struct {
		InstanceID string `json:"instanceID"`
	} `json:"source"`
}

var (
	// repositoryPathRE is a repository's path in a registry, as the OCI
	// distribution spec and the registry itself accept it.
	repositoryPathRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	// tagRE is a tag, as the registry accepts it.
	tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	// errTooManyEvents is an envelope of more than maxRegistryEvents.
	errTooManyEvents = fmt.Errorf("%w: more than %d events in one envelope", hallmark.ErrTooLarge, maxRegistryEvents)
)

// registryEvents reads an envelope of the registry whose normalized host
// is registry and returns its manifest events, to record, and how many
// events it skipped (blob pushes, pulls, mounts and deletions: only
// manifests say who pushed or pulled an image). received is the number of
// events the envelope holds. Errors wrap hallmark.ErrInvalid, or
// hallmark.ErrTooLarge for too many events; one event that is not valid
// refuses the whole envelope, since no registry sends such an event.
// Values that come from the registry's client (user agent, address) are
// clipped and cleaned, never refused.
func registryEvents(body []byte, registry string, now time.Time) (events []store.RegistryEvent, skipped, received int, err error) {
	var env registryEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax):
			return nil, 0, 0, fmt.Errorf("%w: envelope is not JSON (at byte %d)", hallmark.ErrInvalid, syntax.Offset)
		case errors.As(err, &typ) && typ.Field != "":
			return nil, 0, 0, fmt.Errorf("%w: envelope: %s: want %s", hallmark.ErrInvalid, hallmark.Clip(typ.Field, 100), typ.Type)
		case errors.As(err, &typ):
			return nil, 0, 0, fmt.Errorf("%w: envelope is not a JSON object of events", hallmark.ErrInvalid)
		}
		return nil, 0, 0, fmt.Errorf("%w: envelope: %s", hallmark.ErrInvalid, hallmark.Clip(cleanText(err.Error()), 200))
	}
	received = len(env.Events)
	if received > maxRegistryEvents {
		return nil, 0, received, errTooManyEvents
	}
	for i, n := range env.Events {
		e, manifest, err := registryEvent(n, registry, now)
		if err != nil {
			return nil, 0, received, fmt.Errorf("%w: events[%d]: %w", hallmark.ErrInvalid, i, err)
		}
		if !manifest {
			skipped++
			continue
		}
		events = append(events, e)
	}
	return events, skipped, received, nil
}

// registryEvent validates one event and converts it; manifest is false
// for an event about a blob, which is not recorded.
func registryEvent(n registryNotification, registry string, now time.Time) (e store.RegistryEvent, manifest bool, err error) {
	kind := ""
	switch n.Action {
	case "push":
		kind = store.KindPush
	case "pull":
		kind = store.KindPull
	case "delete":
		kind = store.KindDelete
	case "mount": // blobs only
		return e, false, nil
	default:
		return e, false, fmt.Errorf("action %q is not push, pull, delete or mount", hallmark.Clip(n.Action, 40))
	}
	mt := types.MediaType(n.Target.MediaType)
	// A deletion names no media type, a manifest's or a blob's alike: it
	// is taken for a manifest's when it names a sha256 digest (the
	// registry's manifest digests are sha256) or a tag alone. A deletion
	// of a whole repository (distribution 3) names neither.
	isManifest := mt.IsImage() || mt.IsIndex() || mt.IsSchema1()
	if kind == store.KindDelete && mt == "" {
		isManifest = strings.HasPrefix(n.Target.Digest, "sha256:") || (n.Target.Digest == "" && n.Target.Tag != "")
	}
	if !isManifest {
		return e, false, nil
	}
	t := n.Target
	switch {
	case n.ID == "" || len(n.ID) > maxEventIDBytes || strings.IndexFunc(n.ID, unicode.IsControl) >= 0:
		return e, false, fmt.Errorf("id: want 1 to %d printable bytes", maxEventIDBytes)
	case t.Size < 0:
		return e, false, fmt.Errorf("target.size %d is negative", t.Size)
	case t.Tag != "" && !tagRE.MatchString(t.Tag):
		return e, false, fmt.Errorf("target.tag %q is not a tag", hallmark.Clip(t.Tag, 130))
	case t.Digest == "" && (kind != store.KindDelete || t.Tag == ""):
		return e, false, errors.New("target.digest is missing")
	}
	if t.Digest != "" {
		if e.Digest, err = hallmark.ParseDigest(t.Digest); err != nil {
			return e, false, fmt.Errorf("target.digest %q is not sha256:<64 lowercase hex>", hallmark.Clip(t.Digest, 80))
		}
	}
	if e.Repository, err = eventRepository(registry, t.Repository); err != nil {
		return e, false, err
	}
	e.At = n.Timestamp.UTC()
	if e.At.IsZero() || e.At.After(now.Add(maxEventSkew)) {
		e.At = now
	}
	e.ID, e.Kind, e.Tag, e.MediaType, e.Size = n.ID, kind, t.Tag, string(mt), t.Size
	e.Actor, e.Addr = cleanText(n.Actor.Name), cleanText(n.Request.Addr)
	e.Method, e.UserAgent, e.Instance = cleanText(n.Request.Method), cleanText(n.Request.UserAgent), cleanText(n.Source.InstanceID)
	return e, true, nil
}

// eventRepository is "registry/path" of an event's target.repository, as
// the gateway names repositories.
func eventRepository(registry, path string) (string, error) {
	if len(path) > 255 || !repositoryPathRE.MatchString(path) {
		return "", fmt.Errorf("target.repository %q is not a repository name", hallmark.Clip(path, 100))
	}
	r, err := name.NewRepository(registry + "/" + path)
	if err != nil || r.RegistryStr() != registry {
		return "", fmt.Errorf("target.repository %q is not a repository name", hallmark.Clip(path, 100))
	}
	return r.Name(), nil
}

// cleanText clips s to maxEventTextBytes and replaces its control
// characters and invalid UTF-8 with U+FFFD.
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return unicode.ReplacementChar
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return hallmark.Clip(s, maxEventTextBytes)
}

// registryHost checks the host[:port] of the registry whose events an
// endpoint takes and returns it as the gateway names registries
// ("docker.io" is "index.docker.io").
func registryHost(host string) (string, error) {
	if host == "" || strings.ContainsAny(host, "/@ ") || (host != "localhost" && !strings.ContainsAny(host, ".:")) {
		return "", fmt.Errorf("%w: registry %q is not host[:port] with a dot or a port, or localhost", hallmark.ErrInvalid, hallmark.Clip(host, 100))
	}
	r, err := name.NewRegistry(host)
	if err != nil {
		return "", fmt.Errorf("%w: registry %q: %w", hallmark.ErrInvalid, hallmark.Clip(host, 100), err)
	}
	return r.RegistryStr(), nil
}
