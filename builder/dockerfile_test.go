package builder

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/golden"
)

type inspectCase struct {
	name       string
	dockerfile string
	args       map[string]string
	target     string
	platform   string // target platform
	bases      []string
}

// inspectCases are valid Dockerfiles and the bases building them pulls.
var inspectCases = []inspectCase{
	{name: "single", dockerfile: "FROM alpine:3.20\nRUN echo hi\n", bases: []string{"alpine:3.20"}},
	{name: "global arg default", dockerfile: "ARG TAG=3.20\nFROM alpine:${TAG}\n", bases: []string{"alpine:3.20"}},
	{name: "global arg overridden", dockerfile: "ARG TAG=3.20\nFROM alpine:${TAG}\n", args: map[string]string{"TAG": "3.19"}, bases: []string{"alpine:3.19"}},
	{name: "arg from arg", dockerfile: "ARG REG=docker.io\nARG IMG=$REG/library/alpine\nFROM $IMG\n", bases: []string{"docker.io/library/alpine"}},
	{name: "undeclared build arg is ignored", dockerfile: "FROM alpine:${TAG:-3.18}\n", args: map[string]string{"TAG": "x"}, bases: []string{"alpine:3.18"}},
	{name: "arg declared without value", dockerfile: "ARG TAG\nFROM alpine:${TAG:-edge}\n", bases: []string{"alpine:edge"}},
	{name: "arg declared without value, set", dockerfile: "ARG TAG\nFROM alpine:${TAG:-edge}\n", args: map[string]string{"TAG": "3.1"}, bases: []string{"alpine:3.1"}},
	{name: "build platform", dockerfile: "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nRUN go version\nFROM alpine\nCOPY --from=build /x /x\n", bases: []string{"golang:1.22", "alpine"}},
	{name: "target arch", dockerfile: "FROM ${TARGETARCH}/alpine\n", platform: "linux/arm64", bases: []string{"arm64/alpine"}},
	{name: "target arch build arg", dockerfile: "FROM ${TARGETARCH}/alpine\n", args: map[string]string{"TARGETARCH": "s390x"}, bases: []string{"s390x/alpine"}},
	{name: "unreachable stage", dockerfile: "FROM node AS unused\nFROM golang AS build\nFROM alpine\nCOPY --from=build /x /x\n", bases: []string{"golang", "alpine"}},
	{name: "target", dockerfile: "FROM golang AS build\nFROM alpine\nCOPY --from=build /x /x\n", target: "build", bases: []string{"golang"}},
	{name: "target any case", dockerfile: "FROM golang AS build\nFROM alpine\n", target: "BUILD", bases: []string{"golang"}},
	{name: "scratch", dockerfile: "FROM scratch\nCOPY . .\n"},
	{name: "stage base", dockerfile: "FROM alpine AS base\nRUN true\nFROM base\nRUN true\n", bases: []string{"alpine"}},
	{name: "copy from image", dockerfile: "FROM alpine\nCOPY --from=busybox:1.36 /bin/busybox /bin/\n", bases: []string{"alpine", "busybox:1.36"}},
	{name: "copy from stage any case", dockerfile: "FROM golang AS build\nFROM alpine\nCOPY --from=Build /x /x\n", bases: []string{"golang", "alpine"}},
	{name: "copy from index", dockerfile: "FROM golang\nFROM alpine\nCOPY --from=0 /x /x\n", bases: []string{"golang", "alpine"}},
	{name: "copy from scratch", dockerfile: "FROM alpine\nCOPY --from=scratch / /\n", bases: []string{"alpine"}},
	{name: "run mount from image", dockerfile: "FROM alpine\nRUN --mount=type=bind,from=golang:1.22,target=/go true\n", bases: []string{"alpine", "golang:1.22"}},
	{name: "run mount from stage", dockerfile: "FROM golang AS tools\nFROM alpine\nRUN --mount=from=tools,target=/t true\n", bases: []string{"golang", "alpine"}},
	{name: "run mount cache", dockerfile: "FROM alpine\nRUN --mount=type=cache,target=/root/.cache true\n", bases: []string{"alpine"}},
	{name: "dedupe normalized", dockerfile: "FROM alpine AS a\nFROM docker.io/library/alpine:latest AS b\nFROM alpine:latest\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n", bases: []string{"alpine"}},
	{name: "onbuild", dockerfile: "FROM alpine AS base\nONBUILD COPY --from=busybox /x /x\nFROM base\n", bases: []string{"alpine", "busybox"}},
	{name: "digest pinned", dockerfile: "FROM alpine@sha256:0000000000000000000000000000000000000000000000000000000000000001\n", bases: []string{"alpine@sha256:0000000000000000000000000000000000000000000000000000000000000001"}},
	{name: "unreachable stage copies from later", dockerfile: "FROM alpine AS a\nCOPY --from=b /x /x\nFROM busybox AS b\n", bases: []string{"busybox"}},
	{name: "escape directive", dockerfile: "# escape=`\nFROM alpine\nRUN echo `\n  hi\n", bases: []string{"alpine"}},
	{name: "registry with port", dockerfile: "FROM localhost:5000/hallmark/static:v1\n", bases: []string{"localhost:5000/hallmark/static:v1"}},
	{name: "target stage arg", dockerfile: "FROM alpine:$TARGETSTAGE AS edge\n", bases: []string{"alpine:edge"}},
	{name: "target stage arg, target", dockerfile: "FROM alpine:$TARGETSTAGE AS edge\nFROM busybox:$TARGETSTAGE AS musl\n", target: "edge", bases: []string{"alpine:edge"}},
	{name: "heredoc", dockerfile: "FROM alpine\nRUN <<EOF\necho FROM evil\nEOF\n", bases: []string{"alpine"}},
}

func TestInspectDockerfileBases(t *testing.T) {
	for _, tc := range inspectCases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []InspectOption
			if tc.platform != "" {
				opts = append(opts, WithTargetPlatform(tc.platform))
			}
			info, err := InspectDockerfile([]byte(tc.dockerfile), tc.args, tc.target, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(info.Bases, tc.bases) {
				t.Errorf("Bases = %q, want %q", info.Bases, tc.bases)
			}
		})
	}
}

func TestInspectDockerfileGolden(t *testing.T) {
	src := `# syntax=docker/dockerfile:1.7
ARG GO=1.22
ARG BASE=alpine:3.20

FROM --platform=$BUILDPLATFORM golang:${GO} AS build
RUN --mount=type=cache,target=/root/.cache go build ./...

FROM node:20 AS docs
COPY --from=build /src /src

FROM ${BASE} AS runtime
ONBUILD COPY --from=busybox:1.36 /bin/busybox /bin/

FROM runtime AS final
COPY --from=build /out/app /app
COPY --from=gcr.io/distroless/static:nonroot /etc/passwd /etc/passwd
`
	info, err := InspectDockerfile([]byte(src), map[string]string{"GO": "1.23"}, "", WithBuildPlatform("linux/amd64"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "inspect.golden.json"), append(got, '\n'))
}

func TestInspectDockerfileErrors(t *testing.T) {
	tests := []struct {
		name, dockerfile string
		args             map[string]string
		target           string
		want             error
		msg              string
	}{
		{"empty", "", nil, "", hallmark.ErrInvalid, "dockerfile is empty"},
		{"blank", " \n\t\n", nil, "", hallmark.ErrInvalid, "dockerfile is empty"},
		{"comments only", "# nothing\n", nil, "", hallmark.ErrInvalid, "no instructions"},
		{"args only", "ARG X=1\n", nil, "", hallmark.ErrInvalid, "no FROM"},
		{"no from", "RUN echo\n", nil, "", hallmark.ErrInvalid, "dockerfile line 1:"},
		{"unknown instruction", "FROM alpine\n\nFOO bar\n", nil, "", hallmark.ErrInvalid, "dockerfile line 3: unknown instruction: FOO"},
		{"bad from", "FROM alpine\nFROM a b\n", nil, "", hallmark.ErrInvalid, "dockerfile line 2:"},
		{"bad stage name", "FROM alpine AS 9lives\n", nil, "", hallmark.ErrInvalid, "dockerfile line 1: invalid name for build stage"},
		{"unknown flag", "FROM alpine\nCOPY --nope=1 a b\n", nil, "", hallmark.ErrInvalid, "dockerfile line 2:"},
		{"unknown target", "FROM alpine AS a\nFROM alpine AS b\n", nil, "c", hallmark.ErrInvalid, `target stage "c" not found in the dockerfile; stages are: a, b`},
		{"empty base", "ARG IMG\nFROM $IMG\n", nil, "", hallmark.ErrInvalid, "dockerfile line 2: FROM $IMG expands to an empty image name"},
		{"empty base from arg", "ARG IMG=alpine\nFROM ${IMG}\n", map[string]string{"IMG": ""}, "", hallmark.ErrInvalid, "dockerfile line 2: FROM ${IMG} expands to an empty"},
		{"required arg", "FROM ${IMG:?set IMG}\n", nil, "", hallmark.ErrInvalid, "dockerfile line 1:"},
		{"invalid ref", "FROM Alpine\n", nil, "", hallmark.ErrInvalid, `dockerfile line 1: invalid base image reference "Alpine"`},
		{"stage name case is not matched", "FROM alpine AS Build\nFROM Build\n", nil, "", hallmark.ErrInvalid, `dockerfile line 2: invalid base image reference "Build"`},
		{"bad platform", "FROM --platform=linux/amd64/v2/x alpine\n", nil, "", hallmark.ErrInvalid, "dockerfile line 1: --platform="},
		{"empty platform", "ARG P\nFROM --platform=$P alpine\n", nil, "", hallmark.ErrInvalid, "expands to an empty platform"},
		{"copy from variable", "ARG S=a\nFROM alpine AS a\nFROM alpine\nCOPY --from=$S /x /x\n", nil, "", hallmark.ErrInvalid, "dockerfile line 4: COPY --from=$S: variables are not supported"},
		{"copy from bad index", "FROM alpine\nCOPY --from=3 /x /x\n", nil, "", hallmark.ErrInvalid, "dockerfile line 2: COPY --from=3: there is no stage 3"},
		{"copy from bad ref", "FROM alpine\nCOPY --from=UPPER /x /x\n", nil, "", hallmark.ErrInvalid, `dockerfile line 2: invalid image reference "UPPER"`},
		{"mount from variable", "FROM alpine\nRUN --mount=from=$X,target=/x true\n", nil, "", hallmark.ErrInvalid, "dockerfile line 2:"},
		{"copy from later stage", "FROM alpine AS a\nCOPY --from=b /x /x\nFROM busybox AS b\n", nil, "a", hallmark.ErrInvalid, `dockerfile line 2: --from=b names stage "b", which is not defined before`},
		{"copy from itself", "FROM alpine AS a\nCOPY --from=0 /x /x\n", nil, "", hallmark.ErrInvalid, "circular dependency"},
		{"mount from later stage", "FROM alpine AS a\nRUN --mount=from=b,target=/b true\nFROM alpine AS b\n", nil, "a", hallmark.ErrInvalid, "dockerfile line 2: --from=b"},
		{"cycle", "FROM alpine AS a\nCOPY --from=b /x /x\nFROM alpine AS b\nCOPY --from=a /y /y\n", nil, "", hallmark.ErrInvalid, "circular dependency"},
		{"stage named like base", "FROM alpine AS alpine\nRUN true\n", nil, "", hallmark.ErrInvalid, `dockerfile line 1: stage name "alpine" is also the name of base image "alpine"`},
		{"stage named like other base", "FROM alpine AS golang\nFROM golang:latest AS x\nCOPY --from=golang /a /a\n", nil, "", hallmark.ErrInvalid, `stage name "golang"`},
		{"bad build arg", "FROM alpine\n", map[string]string{"1X": "y"}, "", hallmark.ErrInvalid, `build arg name "1X"`},
		{"syntax build arg", "FROM alpine\n", map[string]string{"BUILDKIT_SYNTAX": "evil/frontend"}, "", hallmark.ErrInvalid, "BUILDKIT_SYNTAX"},
		{"too large", "FROM alpine\n#" + strings.Repeat("x", MaxDockerfileBytes), nil, "", hallmark.ErrTooLarge, "the limit is 1048576"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, err := InspectDockerfile([]byte(tc.dockerfile), tc.args, tc.target)
			if !errors.Is(err, tc.want) {
				t.Fatalf("InspectDockerfile() = %+v, %v; want %v", info, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
		})
	}
}

func TestInspectDockerfileOptions(t *testing.T) {
	for _, opt := range []InspectOption{WithBuildPlatform("not/a/platform/at/all"), WithTargetPlatform("???")} {
		if _, err := InspectDockerfile([]byte("FROM alpine\n"), nil, "", opt); !errors.Is(err, hallmark.ErrInvalid) {
			t.Errorf("InspectDockerfile() with a bad platform = %v, want ErrInvalid", err)
		}
	}
}

func TestValidateBuildArgs(t *testing.T) {
	tests := []struct {
		name string
		args map[string]string
		ok   bool
	}{
		{"none", nil, true},
		{"valid", map[string]string{"A": "1", "_b2": "", "HTTP_PROXY": "x"}, true},
		{"leading digit", map[string]string{"1A": ""}, false},
		{"dash", map[string]string{"A-B": ""}, false},
		{"empty", map[string]string{"": ""}, false},
		{"space", map[string]string{"A B": ""}, false},
		{"equals", map[string]string{"A=B": ""}, false},
		{"unicode", map[string]string{"Ä": ""}, false},
		{"frontend switch", map[string]string{"BUILDKIT_SYNTAX": "x"}, false},
		{"cache namespace", map[string]string{"BUILDKIT_CACHE_MOUNT_NS": "x"}, false},
		{"any control arg", map[string]string{"BUILDKIT_CONTEXT_KEEP_GIT_DIR": "1"}, false},
		{"lower case is an ARG", map[string]string{"buildkit_syntax": "x"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateBuildArgs(tc.args)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, hallmark.ErrInvalid)) {
				t.Fatalf("ValidateBuildArgs(%v) = %v, want ok=%v", tc.args, err, tc.ok)
			}
		})
	}
}

func FuzzInspectDockerfile(f *testing.F) {
	for _, tc := range inspectCases {
		f.Add([]byte(tc.dockerfile), tc.target, "X", "y")
	}
	f.Add([]byte("FROM alpine\nONBUILD ONBUILD COPY --from=x a b\nFROM 0\n"), "", "IMG", "")
	f.Add([]byte("ARG IMG=a\nFROM $IMG AS x\nCOPY --from=x a b\n"), "x", "IMG", "b")
	f.Fuzz(func(t *testing.T, src []byte, target, argName, argValue string) {
		args := map[string]string{argName: argValue}
		info, err := inspectDockerfile(src, args, target, inspectOptions{}) // no recover: find panics
		if err != nil {
			if !errors.Is(err, hallmark.ErrInvalid) && !errors.Is(err, hallmark.ErrTooLarge) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if info.Target < 0 || info.Target >= len(info.Stages) || !info.Stages[info.Target].Reachable {
			t.Fatalf("bad target %d in %+v", info.Target, info)
		}
		for _, b := range info.Bases {
			if b == "" || b == scratch {
				t.Fatalf("bad base %q", b)
			}
			if _, err := contextName(b); err != nil {
				t.Fatalf("base %q has no context name: %v", b, err)
			}
		}
		// When BuildKit converts it too, it must pull exactly these bases.
		if got, ok := buildKitBases(t, src, args, target); ok {
			if want := normalizedSet(t, info.Bases); !slices.Equal(got, want) {
				t.Fatalf("InspectDockerfile bases %q, BuildKit resolved %q", want, got)
			}
		}
	})
}

func TestRuntimeBase(t *testing.T) {
	tests := []struct {
		name, dockerfile, target, want string
	}{
		{"single stage", "FROM alpine:3.20\n", "", "alpine:3.20"},
		{"multi stage", "FROM golang:1 AS build\nRUN true\nFROM gcr.io/distroless/static:nonroot\nCOPY --from=build /x /x\n", "", "gcr.io/distroless/static:nonroot"},
		{"through stages", "FROM debian:12 AS base\nFROM base AS app\nRUN true\n", "", "debian:12"},
		{"target", "FROM golang:1 AS build\nFROM alpine:3 AS final\n", "build", "golang:1"},
		{"scratch", "FROM golang:1 AS build\nFROM scratch\nCOPY --from=build /x /x\n", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := InspectDockerfile([]byte(tt.dockerfile), nil, tt.target)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.RuntimeBase(); got != tt.want {
				t.Fatalf("RuntimeBase() = %q, want %q", got, tt.want)
			}
		})
	}
}
