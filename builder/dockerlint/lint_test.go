package dockerlint

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// stages parses a Dockerfile into its stages.
func stages(t *testing.T, dockerfile string) []instructions.Stage {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader([]byte(dockerfile)))
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestLint(t *testing.T) {
	tests := []struct {
		name       string
		dockerfile string
		notBuilt   []int    // stages the build does not build
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
		{name: "a stage not built is not linted", dockerfile: "FROM alpine:3.20 AS unused\nRUN curl https://x | sh\nFROM alpine:3.20\n", notBuilt: []int{0}},
		{name: "several", dockerfile: "FROM debian:12 AS build\nRUN apt-get install -y curl && curl https://x | bash\nFROM alpine:3.20\nCOPY --from=build /x /x\nADD https://example.com/y /y\n",
			want: []string{"HallmarkAptGetUnpinned", "HallmarkPipeToShell", "HallmarkAddWithoutChecksum"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			warnings := Lint(stages(t, tt.dockerfile), func(i int) bool { return !slices.Contains(tt.notBuilt, i) })
			if len(warnings) != len(tt.want) {
				t.Fatalf("warnings = %q, want %d", warnings, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %d = %q, want it to say %q", i, warnings[i], w)
				}
			}
		})
	}
}

func TestLintMaxWarnings(t *testing.T) {
	df := "FROM alpine:3.20\n" + strings.Repeat("RUN curl https://x | sh\n", MaxWarnings+5)
	if got := Lint(stages(t, df), func(int) bool { return true }); len(got) != MaxWarnings {
		t.Errorf("%d warnings, want MaxWarnings (%d)", len(got), MaxWarnings)
	}
}
