package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	"google.golang.org/protobuf/types/known/timestamppb"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

func TestToSolveStatus(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	t1 := t0.Add(2 * time.Second)
	d1 := digest.Digest("sha256:" + strings.Repeat("1", 64))
	d2 := digest.Digest("sha256:" + strings.Repeat("2", 64))
	tests := []struct {
		name string
		in   *hallmarkv1.SolveStatus
		want *client.SolveStatus
	}{
		{name: "empty", in: &hallmarkv1.SolveStatus{}, want: &client.SolveStatus{}},
		{name: "nil", in: nil, want: &client.SolveStatus{}},
		{
			name: "vertexes",
			in: &hallmarkv1.SolveStatus{Vertexes: []*hallmarkv1.Vertex{
				{Digest: string(d1), Name: "[internal] load build definition"},
				{Digest: string(d2), Inputs: []string{string(d1)}, Name: "[2/2] RUN make", Cached: true,
					Started: timestamppb.New(t0), Completed: timestamppb.New(t1), Error: "exit code: 2"},
			}},
			want: &client.SolveStatus{Vertexes: []*client.Vertex{
				{Digest: d1, Name: "[internal] load build definition"},
				{Digest: d2, Inputs: []digest.Digest{d1}, Name: "[2/2] RUN make", Cached: true, Started: &t0, Completed: &t1, Error: "exit code: 2"},
			}},
		},
		{
			name: "statuses logs warnings",
			in: &hallmarkv1.SolveStatus{
				Statuses: []*hallmarkv1.VertexStatus{{Id: "sha256:layer", Vertex: string(d1), Name: "extracting", Current: 10, Total: 100,
					Timestamp: timestamppb.New(t1), Started: timestamppb.New(t0)}},
				Logs: []*hallmarkv1.VertexLog{{Vertex: string(d2), Timestamp: timestamppb.New(t0), Stream: 2, Msg: []byte("oops\n")}},
				Warnings: []*hallmarkv1.VertexWarning{{Vertex: string(d1), Level: 1, Short: []byte("JSONArgsRecommended"),
					Detail: [][]byte{[]byte("use JSON")}, Url: "https://docs.docker.com/go/x"}},
			},
			want: &client.SolveStatus{
				Statuses: []*client.VertexStatus{{ID: "sha256:layer", Vertex: d1, Name: "extracting", Current: 10, Total: 100, Timestamp: t1, Started: &t0}},
				Logs:     []*client.VertexLog{{Vertex: d2, Stream: 2, Data: []byte("oops\n"), Timestamp: t0}},
				Warnings: []*client.VertexWarning{{Vertex: d1, Level: 1, Short: []byte("JSONArgsRecommended"), Detail: [][]byte{[]byte("use JSON")}, URL: "https://docs.docker.com/go/x"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := toSolveStatus(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("toSolveStatus() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestProgressPlain(t *testing.T) {
	var out bytes.Buffer
	p, err := newProgress(&out, "plain")
	if err != nil {
		t.Fatal(err)
	}
	if p.started() {
		t.Fatal("display started before the first status")
	}
	d := "sha256:" + strings.Repeat("3", 64)
	now := timestamppb.Now()
	p.update(&hallmarkv1.SolveStatus{Vertexes: []*hallmarkv1.Vertex{{Digest: d, Name: "[1/1] RUN false", Started: now}}})
	p.update(&hallmarkv1.SolveStatus{
		Logs:     []*hallmarkv1.VertexLog{{Vertex: d, Stream: 2, Msg: []byte("no such thing\n"), Timestamp: now}},
		Vertexes: []*hallmarkv1.Vertex{{Digest: d, Name: "[1/1] RUN false", Started: now, Completed: now, Error: "exit code: 1"}},
	})
	if err := p.finish(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[1/1] RUN false", "no such thing", "ERROR: exit code: 1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestNewProgressModes(t *testing.T) {
	for _, mode := range []string{"auto", "plain", "rawjson", "quiet"} {
		if _, err := newProgress(&bytes.Buffer{}, mode); err != nil {
			t.Errorf("mode %s: %v", mode, err)
		}
	}
	// tty needs a terminal.
	if _, err := newProgress(&bytes.Buffer{}, "tty"); err == nil {
		t.Error("mode tty on a buffer: no error")
	}
}

func TestProgressInfo(t *testing.T) {
	accepted := &hallmarkv1.BuildAccepted{BuildId: "b-1", QueuePosition: 2, Bases: []*hallmarkv1.ResolvedBase{{Ref: "golang:1.26", Pinned: "docker.io/library/golang@sha256:abc"}}}
	const chatty = "#0 uploading\n#0 build b-1 accepted\n#0 waiting for a build slot, 2 ahead\n#0 pinned golang:1.26 to docker.io/library/golang@sha256:abc\n"
	tests := []struct {
		mode string
		want string
	}{
		{"plain", chatty},
		{"auto", chatty},
		{"quiet", ""},
		{"rawjson", ""},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			var out bytes.Buffer
			p, err := newProgress(&out, tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			p.infof("#0 %s\n", "uploading")
			p.accepted(accepted)
			if out.String() != tt.want {
				t.Errorf("output %q, want %q", out.String(), tt.want)
			}
		})
	}
}

func TestProgressMode(t *testing.T) {
	tests := []struct {
		progress string
		quiet    bool
		want     string
		wantErr  string
	}{
		{progress: "auto", want: "auto"},
		{progress: "plain", want: "plain"},
		{progress: "plain", quiet: true, want: "quiet"},
		{progress: "fancy", wantErr: `parse --progress: unknown mode "fancy", want one of auto, plain, tty, rawjson, quiet`},
	}
	for _, tt := range tests {
		t.Run(tt.progress, func(t *testing.T) {
			got, err := progressMode(tt.progress, tt.quiet)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("mode %q, want %q", got, tt.want)
			}
		})
	}
}
