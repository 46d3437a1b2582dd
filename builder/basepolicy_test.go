package builder

import (
	"errors"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

const testDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000001"

func TestCheckBases(t *testing.T) {
	allow := []string{"docker.io/library/*", "127.0.0.1:*/hallmark/*", "registry.example.com/base/**"}
	tests := []struct {
		name       string
		dockerfile string
		args       map[string]string
		allow      []string
		mode       BaseMode
		want       []string // substrings of the error; none means allowed
	}{
		{name: "tagged", dockerfile: "FROM alpine:3.20\n"},
		{name: "scratch", dockerfile: "FROM scratch\n"},
		{name: "digest", dockerfile: "FROM alpine@" + testDigest + "\n", mode: BaseRequireDigest},
		{name: "latest with digest", dockerfile: "FROM alpine:latest@" + testDigest + "\n", mode: BaseRequireDigest},
		{name: "stage reference", dockerfile: "FROM alpine:3.20 AS base\nFROM base\n"},
		{name: "unreachable stage is not checked", dockerfile: "FROM node AS unused\nFROM alpine:3.20\n"},
		{name: "latest", dockerfile: "FROM golang:1.26 AS tools\nFROM docker.io/library/golang:latest AS build\n",
			want: []string{`stage "build" (line 2): base image "docker.io/library/golang:latest": the :latest tag is not allowed; pin a version or digest`}},
		{name: "untagged", dockerfile: "FROM alpine\n",
			want: []string{`stage 0 (line 1): base image "alpine": no tag or digest means :latest`}},
		{name: "latest hidden behind ARG", dockerfile: "ARG TAG=latest\nFROM alpine:${TAG} AS run\n",
			want: []string{`stage "run" (line 2): base image "alpine:latest"`}},
		{name: "untagged hidden behind build arg", dockerfile: "ARG IMAGE=alpine:3.20\nFROM $IMAGE\n", args: map[string]string{"IMAGE": "alpine"},
			want: []string{`base image "alpine": no tag`}},
		{name: "platform variant", dockerfile: "FROM --platform=$BUILDPLATFORM golang AS build\nFROM alpine:3.20\nCOPY --from=build /x /x\n",
			want: []string{`stage "build" (line 1): base image "golang"`}},
		{name: "copy from image", dockerfile: "FROM alpine:3.20\nRUN true\nCOPY --from=busybox /bin/busybox /bin/\n",
			want: []string{`stage 0 (line 3): base image "busybox"`}},
		{name: "run mount from image", dockerfile: "FROM alpine:3.20\nRUN --mount=from=golang:latest,target=/g true\n",
			want: []string{`(line 2): base image "golang:latest"`}},
		{name: "every problem is named", dockerfile: "FROM alpine AS a\nFROM busybox:latest\nCOPY --from=a /x /x\n",
			want: []string{`base image "alpine"`, `base image "busybox:latest"`}},
		{name: "require digest", dockerfile: "FROM alpine:3.20\n", mode: BaseRequireDigest,
			want: []string{`base image "alpine:3.20": not pinned by digest`}},
		{name: "allowed", dockerfile: "FROM alpine:3.20\nFROM 127.0.0.1:7434/hallmark/static:v1\nFROM registry.example.com/base/go/1:x\n", allow: allow},
		{name: "not allowed", dockerfile: "FROM ghcr.io/acme/base:v1\n", allow: allow,
			want: []string{`base image "ghcr.io/acme/base:v1": repository "ghcr.io/acme/base" is not in the gateway's base image allowlist (docker.io/library/*, 127.0.0.1:*/hallmark/*`}},
		{name: "not allowed, one segment deeper", dockerfile: "FROM 127.0.0.1:7434/hallmark/tools/go:1\n", allow: allow,
			want: []string{`repository "127.0.0.1:7434/hallmark/tools/go" is not in`}},
		{name: "allowlist before latest", dockerfile: "FROM quay.io/x/y:latest\n", allow: allow,
			want: []string{"is not in the gateway's base image allowlist"}},
		{name: "digest does not bypass the allowlist", dockerfile: "FROM quay.io/x/y@" + testDigest + "\n", allow: allow,
			want: []string{`repository "quay.io/x/y"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := InspectDockerfile([]byte(tt.dockerfile), tt.args, "")
			if err != nil {
				t.Fatal(err)
			}
			o := options{baseMode: BasePin}
			opts := []Option{WithBaseImageAllow(tt.allow...)}
			if tt.mode != "" {
				opts = append(opts, WithBaseImageMode(tt.mode))
			}
			for _, opt := range opts {
				if err := opt(&o); err != nil {
					t.Fatal(err)
				}
			}
			err = o.checkBases(info)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("checkBases: %v", err)
				}
				return
			}
			if !errors.Is(err, hallmark.ErrInvalid) {
				t.Fatalf("checkBases = %v, want ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestBaseOptions(t *testing.T) {
	var o options
	if err := WithBaseImageMode("trust-me")(&o); err == nil || !strings.Contains(err.Error(), `"trust-me"`) {
		t.Errorf("WithBaseImageMode(trust-me) = %v", err)
	}
	if err := WithBaseImageAllow("docker.io/*", "[")(&o); err == nil || !strings.Contains(err.Error(), "[1]") {
		t.Errorf("WithBaseImageAllow with a bad pattern = %v, want it to name [1]", err)
	}
	for _, s := range []string{"pin", "require-digest"} {
		if m, err := ParseBaseMode(s); err != nil || string(m) != s {
			t.Errorf("ParseBaseMode(%q) = %q, %v", s, m, err)
		}
	}
	if _, err := ParseBaseMode("Pin"); err == nil {
		t.Error("ParseBaseMode is case-sensitive")
	}
}

func TestRecordBases(t *testing.T) {
	df := "ARG GO=golang:1.26\nFROM --platform=$BUILDPLATFORM ${GO} AS build\nFROM 127.0.0.1:7434/hallmark/static:v1 AS run\nCOPY --from=build /x /x\nFROM run\n"
	info, err := InspectDockerfile([]byte(df), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	o := options{baseMode: BasePin}
	if err := WithBaseImageAllow("docker.io/library/*", "127.0.0.1:*/hallmark/**")(&o); err != nil {
		t.Fatal(err)
	}
	d1, d2 := hallmark.Digest(testDigest), hallmark.Digest("sha256:"+strings.Repeat("2", 64))
	bases := []hallmark.ResolvedBase{
		{Ref: "golang:1.26", Pinned: "index.docker.io/library/golang@" + testDigest, Digest: d1},
		{Ref: "127.0.0.1:7434/hallmark/static:v1", Pinned: "127.0.0.1:7434/hallmark/static@" + string(d2), Digest: d2},
	}
	got := o.recordBases(info, bases)
	want := []hallmark.BaseDecision{
		{Ref: "golang:1.26", Digest: d1, AllowedBy: "docker.io/library/*"},
		{Ref: "127.0.0.1:7434/hallmark/static:v1", Digest: d2, AllowedBy: "127.0.0.1:*/hallmark/**", Runtime: true},
	}
	if got.Mode != "pin" || len(got.Bases) != len(want) {
		t.Fatalf("recordBases = %+v", got)
	}
	for i := range want {
		if got.Bases[i] != want[i] {
			t.Errorf("bases[%d] = %+v, want %+v", i, got.Bases[i], want[i])
		}
	}
	// Without an allowlist, nothing names a pattern.
	if p := (options{baseMode: BaseRequireDigest}).recordBases(info, bases); p.Mode != "require-digest" || p.Bases[0].AllowedBy != "" {
		t.Errorf("recordBases without allowlist = %+v", p)
	}
}
