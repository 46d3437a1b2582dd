package builder

import (
	"slices"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

func TestLint(t *testing.T) {
	tests := []struct {
		name       string
		dockerfile string
		want       []string // each warning, as a substring, in order
	}{
		{name: "clean", dockerfile: "FROM alpine:3.20\nRUN apt-get update && apt-get install -y --no-install-recommends curl=8.5.0-2 ca-certificates=20240203\nADD --checksum=sha256:" + strings.Repeat("a", 64) + " https://example.com/x.tgz /x.tgz\nADD local.tgz /\n"},
		{name: "add url", dockerfile: "FROM alpine:3.20\nADD https://example.com/tool.tgz /opt/\n",
			want: []string{"HallmarkAddWithoutChecksum: ADD https://example.com/tool.tgz has no --checksum, so the download is not pinned; add --checksum=sha256:<hex> (line 2)"}},
		{name: "add http url in any case", dockerfile: "FROM alpine:3.20\nADD HTTP://example.com/a /a\n", want: []string{"HallmarkAddWithoutChecksum: ADD http://example.com/a has"}},
		{name: "add url with credentials", dockerfile: "FROM alpine:3.20\nADD https://ci:hunter2@example.com/a.tgz?X-Amz-Signature=abc#frag /a\n",
			want: []string{"HallmarkAddWithoutChecksum: ADD https://example.com/a.tgz has no --checksum"}},
		{name: "apt-get unpinned", dockerfile: "FROM debian:12\nRUN apt-get update && \\\n    apt-get install -y --no-install-recommends curl git=1:2.39.5-0+deb12u1 jq\n",
			want: []string{"HallmarkAptGetUnpinned: apt-get install without pinned versions (curl, jq); pin each as package=version for a reproducible image (line 2)"}},
		{name: "apt unpinned", dockerfile: "FROM debian:12\nRUN apt install -y make\n", want: []string{"(make)"}},
		{name: "apt-get options with values", dockerfile: "FROM debian:12\nRUN apt-get -o Dpkg::Options::=--force-confold install -t bookworm-backports -y golang=2:1.22\n"},
		{name: "apt-get variables and debs", dockerfile: "FROM debian:12\nRUN apt-get install -y $PKGS ./local.deb \"${EXTRA}\"\n"},
		{name: "apt-get other commands", dockerfile: "FROM debian:12\nRUN apt-get update && apt-get upgrade -y && apt-get remove curl\n"},
		{name: "apt-get in a heredoc", dockerfile: "FROM debian:12\nRUN <<EOF\nset -e\napt-get install -y vim\nEOF\n", want: []string{"(vim); pin each as package=version for a reproducible image (line 2)"}},
		{name: "curl pipe sh", dockerfile: "FROM alpine:3.20\nRUN curl -fsSL https://get.example.com | sh\n",
			want: []string{"HallmarkPipeToShell: a download is piped into a shell (curl … | sh); download to a file, check its sha256, then run it (line 2)"}},
		{name: "wget pipe bash", dockerfile: "FROM alpine:3.20\nRUN wget -qO- https://x/install | sudo -E bash -s -- --yes\n", want: []string{"HallmarkPipeToShell"}},
		{name: "sh -c curl", dockerfile: "FROM alpine:3.20\nRUN sh -c \"$(curl -fsSL https://x/install.sh)\"\n", want: []string{"HallmarkPipeToShell"}},
		{name: "bash process substitution", dockerfile: "FROM alpine:3.20\nRUN bash <(curl -s https://x/i.sh)\n", want: []string{"HallmarkPipeToShell"}},
		{name: "curl pipe checksum is fine", dockerfile: "FROM alpine:3.20\nRUN curl -fsSL https://x/a.tgz | sha256sum -c a.sha256 && curl -s https://x | tar xz && curl https://x | shellcheck -\n"},
		{name: "exec form", dockerfile: "FROM alpine:3.20\nRUN [\"sh\", \"-c\", \"curl -s https://x | sh\"]\n", want: []string{"HallmarkPipeToShell"}},
		{name: "unreachable stage is not linted", dockerfile: "FROM alpine:3.20 AS unused\nRUN curl https://x | sh\nFROM alpine:3.20\n"},
		{name: "several", dockerfile: "FROM debian:12 AS build\nRUN apt-get install -y curl && curl https://x | bash\nFROM alpine:3.20\nCOPY --from=build /x /x\nADD https://example.com/y /y\n",
			want: []string{"HallmarkAptGetUnpinned", "HallmarkPipeToShell", "HallmarkAddWithoutChecksum"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := InspectDockerfile([]byte(tt.dockerfile), nil, "")
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
