//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// pollAudit asks ListAudit until done accepts its records, for up to 20s:
// the registry sends its events on its own schedule.
func pollAudit(t *testing.T, q hallmarkv1connect.QueryServiceClient, req *hallmarkv1.ListAuditRequest, done func([]*hallmarkv1.AuditEvent) bool) []*hallmarkv1.AuditEvent {
	t.Helper()
	req.PageSize = 1000
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := q.ListAudit(t.Context(), connect.NewRequest(req))
		if err != nil {
			t.Fatalf("ListAudit %v: %v", req, err)
		}
		if events := resp.Msg.GetEvents(); done(events) {
			return events
		}
		if time.Now().After(deadline) {
			t.Fatalf("ListAudit %v: not there after 20s", req)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-tick.C:
		}
	}
}

// tagged reports whether events hold a record of tag.
func tagged(tag string) func([]*hallmarkv1.AuditEvent) bool {
	return func(events []*hallmarkv1.AuditEvent) bool {
		return slices.ContainsFunc(events, func(e *hallmarkv1.AuditEvent) bool { return e.GetSubject() == tag })
	}
}

// TestRegistryEvents: the stack's registry sends its notifications to the
// gateway. An image pushed around the gateway is recorded and listed as an
// unattested push; the tag push of a gateway build is recorded and not
// listed; a pull is recorded as a pull; a wrong token is refused.
func TestRegistryEvents(t *testing.T) {
	st := env.stack.State
	const subject = "e2e-events"
	q := queryClient(t, st.Gateway, subject)
	prefix := st.Registry + "/e2e/events-"

	around := prefix + "around"
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(around+":v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	c := hallmarkv1connectClient(st.Gateway, token(t, subject))
	built, _, err := build(t.Context(), c, inlineRequest(t, c, "FROM "+st.BaseImage+"\nLABEL e2e.events=built\n", prefix+"built:v1"))
	if err != nil {
		t.Fatalf("build: %v", err)
	}

	t.Run("a push around the gateway is unattested", func(t *testing.T) {
		events := pollAudit(t, q, &hallmarkv1.ListAuditRequest{Kinds: []string{"push"}, UnattestedPushes: true, Repository: around}, tagged("v1"))
		e := events[0]
		var detail struct {
			MediaType string `json:"mediaType"`
			Method    string `json:"method"`
			EventID   string `json:"eventID"`
		}
		if err := json.Unmarshal([]byte(e.GetDetail()), &detail); err != nil {
			t.Fatalf("detail %q: %v", e.GetDetail(), err)
		}
		if e.GetDigest() != d.String() || e.GetActor() == "" || detail.Method != "PUT" || detail.EventID == "" || !strings.Contains(detail.MediaType, "manifest") {
			t.Errorf("push record %v", e)
		}
		out, stderr, err := runCLI(t, "audit", "--unattested-pushes", "--repository", around)
		if err != nil || !strings.Contains(out, around) || !strings.Contains(out, d.String()[:len("sha256:")+12]) {
			t.Errorf("hallmark audit --unattested-pushes: %v\n%s%s", err, out, stderr)
		}
	})
	t.Run("the gateway's own tag push is not", func(t *testing.T) {
		pushes := pollAudit(t, q, &hallmarkv1.ListAuditRequest{Kinds: []string{"push"}, Repository: prefix + "built"}, tagged("v1"))
		if e := pushes[slices.IndexFunc(pushes, func(e *hallmarkv1.AuditEvent) bool { return e.GetSubject() == "v1" })]; e.GetDigest() != built.GetDigest() {
			t.Errorf("the tag push of the build: %v, want digest %s", e, built.GetDigest())
		}
		resp, err := q.ListAudit(t.Context(), connect.NewRequest(&hallmarkv1.ListAuditRequest{UnattestedPushes: true, Repository: prefix + "built"}))
		if err != nil || len(resp.Msg.GetEvents()) != 0 {
			t.Errorf("unattested pushes of the gateway's build: %v, %v", resp, err)
		}
	})
	t.Run("a pull is recorded", func(t *testing.T) {
		if _, err := remote.Get(ref); err != nil {
			t.Fatal(err)
		}
		get := func(e *hallmarkv1.AuditEvent) bool {
			return e.GetSubject() == "v1" && strings.Contains(e.GetDetail(), `"method":"GET"`)
		}
		pulls := pollAudit(t, q, &hallmarkv1.ListAuditRequest{Kinds: []string{"pull"}, Repository: around, Digest: d.String()},
			func(events []*hallmarkv1.AuditEvent) bool { return slices.ContainsFunc(events, get) })
		// The registry's clients are anonymous: the actor is the address.
		if e := pulls[slices.IndexFunc(pulls, get)]; e.GetKind() != "pull" || !strings.HasPrefix(e.GetActor(), "127.0.0.1:") {
			t.Errorf("pull record %v", e)
		}
	})
	t.Run("every envelope the registry sent was taken", func(t *testing.T) {
		for _, code := range []string{"400", "413", "415", "503"} {
			if n := metric(t, st.Gateway, `hallmark_registry_event_requests_total{code="`+code+`"}`); n != 0 {
				t.Errorf("%v envelopes answered %s", n, code)
			}
		}
		if n := metric(t, st.Gateway, `hallmark_registry_events_total{result="recorded"}`); n == 0 {
			t.Error("no registry event recorded")
		}
	})
	t.Run("a wrong token is refused", func(t *testing.T) {
		for _, auth := range []string{"", "Bearer not-the-registry-events-token"} {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, st.Gateway+"/registry/events", bytes.NewReader([]byte(`{"events":[]}`)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/vnd.docker.distribution.events.v1+json")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("Authorization %q: %s, want 401", auth, resp.Status)
			}
		}
	})
}
