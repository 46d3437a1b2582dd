package builder

import (
	"errors"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

func TestCheckReadable(t *testing.T) {
	const reg = "registry.example.com"
	readable := []string{reg + "/teama/**", reg + "/base/*", "docker.io/library/*"}
	private := reg + "/teamb/private"
	tests := []struct {
		name       string
		dockerfile string
		args       map[string]string
		readable   []string
		want       []string // substrings of the error; none means allowed
	}{
		{name: "own and allowed bases", dockerfile: "FROM " + reg + "/base/debian:12\nCOPY --from=" + reg + "/teama/tools/go:1 /go /go\n" +
			"RUN --mount=from=" + reg + "/teama/cache@" + testDigest + ",target=/c true\n"},
		{name: "scratch and stages read nothing", dockerfile: "FROM scratch AS a\nFROM a\nCOPY --from=a / /\n", readable: []string{}},
		{name: "unreachable stage is not checked", dockerfile: "FROM " + private + ":v1 AS unused\nFROM " + reg + "/base/debian:12\n"},
		{name: "docker.io short name", dockerfile: "FROM alpine:3.20\nFROM busybox@" + testDigest + "\n"},
		{name: "index.docker.io pattern", dockerfile: "FROM alpine:3.20\n", readable: []string{"index.docker.io/library/alpine"}},
		{name: "FROM", dockerfile: "FROM " + private + ":v1 AS run\n",
			want: []string{`stage "run" (line 1): base image "` + private + `:v1": you may not read repository "` + private + `"`}},
		{name: "FROM by digest", dockerfile: "FROM " + private + "@" + testDigest + "\n",
			want: []string{`stage 0 (line 1): base image "` + private + "@" + testDigest + `"`}},
		{name: "COPY --from", dockerfile: "FROM " + reg + "/base/debian:12\nRUN true\nCOPY --from=" + private + ":v1 /secret /secret\n",
			want: []string{`stage 0 (line 3): base image "` + private + `:v1": you may not read`}},
		{name: "RUN --mount from=", dockerfile: "FROM " + reg + "/base/debian:12\nRUN --mount=type=bind,from=" + private + ":v1,target=/p cp -r /p /q\n",
			want: []string{`stage 0 (line 2): base image "` + private + `:v1"`}},
		{name: "ARG default", dockerfile: "ARG BASE=" + private + ":v1\nFROM ${BASE}\n",
			want: []string{`(line 2): base image "` + private + `:v1"`}},
		{name: "build arg", dockerfile: "ARG BASE=" + reg + "/base/debian:12\nFROM $BASE\n", args: map[string]string{"BASE": private + ":v1"},
			want: []string{`(line 2): base image "` + private + `:v1"`}},
		{name: "build arg in a stage read by COPY --from", dockerfile: "ARG SRC=" + reg + "/teama/x:1\nFROM $SRC AS src\nFROM scratch\nCOPY --from=src / /\n",
			args: map[string]string{"SRC": private + ":v1"}, want: []string{`stage "src" (line 2): base image "` + private + `:v1"`}},
		{name: "ONBUILD of a base stage", dockerfile: "FROM " + reg + "/base/debian:12 AS b\nONBUILD COPY --from=" + private + ":v1 / /\nFROM b\n",
			want: []string{`base image "` + private + `:v1"`}},
		{name: "docker.io short name, not readable", dockerfile: "FROM acme/app:v1\n",
			want: []string{`base image "acme/app:v1": you may not read repository "docker.io/acme/app"`}},
		{name: "star does not cross slash", dockerfile: "FROM " + reg + "/base/debian/12:x\n",
			want: []string{`repository "` + reg + `/base/debian/12"`}},
		{name: "empty scope reads nothing", dockerfile: "FROM " + reg + "/teama/app:v1\n", readable: []string{},
			want: []string{`repository "` + reg + `/teama/app"`}},
		{name: "every refused image is named", dockerfile: "FROM " + private + ":v1 AS a\nFROM ghcr.io/x/y:1\nCOPY --from=a /x /x\n",
			want: []string{`base image "` + private + `:v1"`, `base image "ghcr.io/x/y:1"`, "pull:", "policy.baseImages.allow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := InspectDockerfile([]byte(tt.dockerfile), tt.args, "")
			if err != nil {
				t.Fatal(err)
			}
			scope := readable
			if tt.readable != nil {
				scope = tt.readable
			}
			err = checkReadable(info, scope)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("checkReadable: %v", err)
				}
				return
			}
			if !errors.Is(err, hallmark.ErrPermissionDenied) {
				t.Fatalf("checkReadable = %v, want ErrPermissionDenied", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
