package convert

import (
	"testing"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

func TestBuildEvents(t *testing.T) {
	now := time.Unix(1700000000, 0).UTC()
	tests := []struct {
		name            string
		event           hallmark.Event
		accepted, state bool
	}{
		{name: "accepted", event: hallmark.Event{Accepted: &hallmark.Accepted{ID: "b1", QueuePosition: 2}}, accepted: true},
		{name: "status", event: hallmark.Event{Status: &hallmark.SolveStatus{Vertexes: []hallmark.Vertex{{Digest: "sha256:x", Name: "RUN x", Started: &now}}}}, state: true},
		{name: "empty", event: hallmark.Event{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, base := BuildEvent(tt.event), BaseEvent(tt.event)
			if (b == nil) != (base == nil) || (b == nil) == (tt.accepted || tt.state) {
				t.Fatalf("BuildEvent = %v, BaseEvent = %v", b, base)
			}
			if b == nil {
				return
			}
			if got := b.GetAccepted() != nil; got != tt.accepted {
				t.Errorf("accepted = %v", got)
			}
			if got := base.GetStatus() != nil; got != tt.state {
				t.Errorf("status = %v", got)
			}
			if tt.accepted && (b.GetAccepted().GetBuildId() != "b1" || b.GetAccepted().GetQueuePosition() != 2) {
				t.Errorf("accepted = %v", b.GetAccepted())
			}
			if tt.state && !b.GetStatus().GetVertexes()[0].GetStarted().AsTime().Equal(now) {
				t.Errorf("status = %v", b.GetStatus())
			}
		})
	}
}

func TestBaseResultEvent(t *testing.T) {
	res := hallmark.BaseResult{
		Build:    hallmark.BuildResult{ID: "b1", Digest: hallmark.SHA256([]byte("img")), Tags: []string{"r/x:v1"}},
		Packages: []hallmark.DebianPackage{{Name: "tzdata", Version: "2024a-0+deb12u1", Architecture: "all", SHA256: hallmark.SHA256([]byte("deb")), Size: 3}},
	}
	got := BaseResultEvent(res).GetResult()
	if got.GetBuild().GetDigest() != res.Build.Digest.String() || len(got.GetPackages()) != 1 ||
		got.GetPackages()[0].GetName() != "tzdata" || got.GetPackages()[0].GetSha256() != res.Packages[0].SHA256.String() {
		t.Errorf("BaseResultEvent = %v", got)
	}
	if r := BuildResultEvent(res.Build).GetResult(); r.GetBuildId() != "b1" || r.GetTags()[0] != "r/x:v1" {
		t.Errorf("BuildResultEvent = %v", r)
	}
}
