package builder

import (
	"slices"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

// TestInspectDockerfileLints: the lint warnings of InspectDockerfile are
// those of the stages that building the target builds.
func TestInspectDockerfileLints(t *testing.T) {
	tests := []struct {
		name       string
		dockerfile string
		target     string
		want       []string // each warning, as a substring, in order
	}{
		{name: "clean", dockerfile: "FROM alpine:3.20\nRUN echo hi\n"},
		{name: "unreachable stage is not linted", dockerfile: "FROM alpine:3.20 AS unused\nRUN curl https://x | sh\nFROM alpine:3.20\n"},
		{name: "target's stages only", dockerfile: "FROM alpine:3.20 AS one\nRUN curl https://x | sh\nFROM alpine:3.20 AS two\nADD https://example.com/y /y\n", target: "one",
			want: []string{"HallmarkPipeToShell: a download is piped into a shell (curl … | sh); download to a file, check its sha256, then run it (line 2)"}},
		{name: "several", dockerfile: "FROM debian:12 AS build\nRUN apt-get install -y curl && curl https://x | bash\nFROM alpine:3.20\nCOPY --from=build /x /x\nADD https://example.com/y /y\n",
			want: []string{"HallmarkAptGetUnpinned", "HallmarkPipeToShell", "HallmarkAddWithoutChecksum"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := InspectDockerfile([]byte(tt.dockerfile), nil, tt.target)
			if err != nil {
				t.Fatal(err)
			}
			if len(info.Warnings) != len(tt.want) {
				t.Fatalf("warnings = %q, want %d", info.Warnings, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(info.Warnings[i], w) {
					t.Errorf("warning %d = %q, want it to say %q", i, info.Warnings[i], w)
				}
			}
		})
	}
}

func TestEmitWarnings(t *testing.T) {
	var events []hallmark.Event
	emit := func(e hallmark.Event) error { events = append(events, e); return nil }
	if err := emitWarnings(emit, lintVertex, nil); err != nil || len(events) != 0 {
		t.Fatalf("no warnings: %v, %d events", err, len(events))
	}
	ws := []string{"HallmarkPipeToShell: x (line 2)", "HallmarkAddWithoutChecksum: y (line 3)"}
	if err := emitWarnings(emit, lintVertex, ws); err != nil || len(events) != 1 {
		t.Fatalf("emitWarnings: %v, %d events", err, len(events))
	}
	st := events[0].Status
	if len(st.Vertexes) != 1 || st.Vertexes[0].Name != lintVertex || st.Vertexes[0].Completed == nil {
		t.Fatalf("vertexes = %+v", st.Vertexes)
	}
	var got []string
	for _, w := range st.Warnings {
		if w.Vertex != st.Vertexes[0].Digest {
			t.Errorf("warning %q is not on the lint step", w.Short)
		}
		got = append(got, string(w.Short))
	}
	if !slices.Equal(got, ws) {
		t.Errorf("warnings = %q, want %q", got, ws)
	}
}
