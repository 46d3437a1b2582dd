package server

import (
	"slices"
	"testing"

	"connectrpc.com/connect"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/store"
)

// TestQueryUnattestedPushes: ListAudit's unattested_pushes lists the
// registry's tag pushes of images the gateway did not record, in the
// repositories the caller may read, over HTTP GET.
func TestQueryUnattestedPushes(t *testing.T) {
	e := newQueryEnv(t)
	push := func(id, repo, tag, hex string) store.RegistryEvent {
		return store.RegistryEvent{ID: id, Kind: store.KindPush, Actor: "alice", Repository: repo, Digest: fixDigest(hex), Tag: tag,
			MediaType: "application/vnd.oci.image.manifest.v1+json", At: queryT0}
	}
	err := e.db.RecordRegistryEvents(t.Context(), []store.RegistryEvent{
		push("e1", "reg.example/team-a/app", "v1", "a"),     // the gateway's build
		push("e2", "reg.example/team-a/app", "hotfix", "7"), // around it
		push("e3", "reg.example/team-c/svc", "dev", "8"),    // around it, elsewhere
		push("e4", "reg.example/team-a/app", "sha256-"+fixDigest("a").Hex()+".sig", "6"),
		{ID: "e5", Kind: store.KindPull, Actor: "bob", Repository: "reg.example/team-a/app", Digest: fixDigest("7"), Tag: "hotfix"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		subject string
		req     *hallmarkv1.ListAuditRequest
		want    []string
	}{
		{"team-a", &hallmarkv1.ListAuditRequest{UnattestedPushes: true}, []string{"reg.example/team-a/app:hotfix"}},
		{"team-c", &hallmarkv1.ListAuditRequest{UnattestedPushes: true}, []string{"reg.example/team-a/app:hotfix", "reg.example/team-c/svc:dev"}},
		{"team-c", &hallmarkv1.ListAuditRequest{UnattestedPushes: true, Kinds: []string{"push"}, Repository: "reg.example/team-c/svc"}, []string{"reg.example/team-c/svc:dev"}},
		{"team-c", &hallmarkv1.ListAuditRequest{UnattestedPushes: true, Kinds: []string{"pull"}}, nil},
		{"team-a", &hallmarkv1.ListAuditRequest{Kinds: []string{"push", "pull"}}, []string{"reg.example/team-a/app:v1", "reg.example/team-a/app:hotfix",
			"reg.example/team-a/app:sha256-" + fixDigest("a").Hex() + ".sig", "reg.example/team-a/app:hotfix"}},
	}
	for _, tt := range tests {
		c, rec := e.queryClient(tt.subject)
		resp, err := c.ListAudit(t.Context(), connect.NewRequest(tt.req))
		if err != nil {
			t.Fatalf("%s %v: %v", tt.subject, tt.req, err)
		}
		var got []string
		for _, ev := range resp.Msg.GetEvents() {
			got = append(got, ev.GetRepository()+":"+ev.GetSubject())
		}
		if !slices.Equal(got, tt.want) || !slices.Equal(rec.methods, []string{"GET"}) {
			t.Errorf("%s %v: %q (methods %q), want %q", tt.subject, tt.req, got, rec.methods, tt.want)
		}
	}
}
