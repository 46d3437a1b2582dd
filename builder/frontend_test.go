package builder

import (
	"errors"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/sourcepolicy"
	spb "github.com/moby/buildkit/sourcepolicy/pb"

	hallmark "github.com/hallmark-dev/hallmark"
)

var (
	feDigest    = hallmark.Digest("sha256:" + strings.Repeat("f", 64))
	otherDigest = hallmark.Digest("sha256:" + strings.Repeat("e", 64))
	baseDigest  = hallmark.Digest("sha256:" + strings.Repeat("b", 64))
)

func frontendOptions(t *testing.T, refs ...string) options {
	t.Helper()
	var o options
	if err := WithFrontends(refs...)(&o); err != nil {
		t.Fatalf("WithFrontends(%q): %v", refs, err)
	}
	return o
}

// TestChooseFrontend: a Dockerfile without a "# syntax=" directive uses
// the built-in frontend; a directive is refused, naming its line, unless
// WithFrontends allows its image, which is then pinned to the allowed
// digest.
func TestChooseFrontend(t *testing.T) {
	allowed := frontendOptions(t,
		"docker/dockerfile:1.7@"+feDigest.String(),
		"registry.example.com/fe/dockerfile@"+otherDigest.String())
	tests := []struct {
		name       string
		o          options
		dockerfile string
		want       string // the frontend, or the error
		wantRef    string // the directive's reference, when allowed
	}{
		{name: "no directive", o: allowed, dockerfile: "FROM alpine:3.20\n", want: "dockerfile.v0"},
		{name: "other directive", o: allowed, dockerfile: "# escape=`\nFROM alpine:3.20\n", want: "dockerfile.v0"},
		{name: "comment after the first instruction", o: allowed, dockerfile: "FROM alpine:3.20\n# syntax=evil/frontend\n", want: "dockerfile.v0"},
		{name: "refused by default", dockerfile: "# syntax=docker/dockerfile:1\nFROM alpine:3.20\n",
			want: "invalid input: dockerfile line 1: # syntax=docker/dockerfile:1 selects a frontend image that the build policy does not allow; allowed: none (or remove the line to use BuildKit's built-in Dockerfile frontend)"},
		{name: "tag not allowed", o: allowed, dockerfile: "# syntax=docker/dockerfile:1\nFROM alpine:3.20\n",
			want: "invalid input: dockerfile line 1: # syntax=docker/dockerfile:1 selects a frontend image that the build policy does not allow; allowed: docker.io/docker/dockerfile:1.7@" + feDigest.String() + ", registry.example.com/fe/dockerfile@" + otherDigest.String()},
		{name: "directive after another", o: allowed, dockerfile: "# check=skip=all\n# syntax=evil.example/frontend:v1\nFROM alpine:3.20\n",
			want: "invalid input: dockerfile line 2: # syntax=evil.example/frontend:v1 selects a frontend image"},
		{name: "after a shebang", dockerfile: "#!/usr/bin/env buildctl\n# syntax=evil.example/frontend:v1\nFROM alpine:3.20\n",
			want: "invalid input: dockerfile line 2: # syntax=evil.example/frontend:v1 selects"},
		{name: "// form", dockerfile: "//syntax=evil.example/frontend:v1\nFROM alpine:3.20\n", want: "invalid input: dockerfile line 1: # syntax=evil.example/frontend:v1 selects"},
		{name: "other digest of an allowed repository", o: allowed, dockerfile: "# syntax=docker/dockerfile:1.7@" + otherDigest.String() + "\nFROM alpine:3.20\n",
			want: "invalid input: dockerfile line 1: # syntax=docker/dockerfile:1.7@" + otherDigest.String() + " selects a frontend image that the build policy does not allow"},
		{name: "digest-only entry needs the digest", o: allowed, dockerfile: "# syntax=registry.example.com/fe/dockerfile:latest\nFROM alpine:3.20\n",
			want: "invalid input: dockerfile line 1: # syntax=registry.example.com/fe/dockerfile:latest selects"},
		{name: "not a reference", o: allowed, dockerfile: "# syntax=Docker/Dockerfile\nFROM alpine:3.20\n",
			want: "invalid input: dockerfile line 1: # syntax=Docker/Dockerfile is not an image reference"},
		{name: "allowed tag, pinned", o: allowed, dockerfile: "# syntax=docker/dockerfile:1.7\nFROM alpine:3.20\n",
			want: "docker.io/docker/dockerfile:1.7@" + feDigest.String(), wantRef: "docker/dockerfile:1.7"},
		{name: "allowed digest, any tag", o: allowed, dockerfile: "# syntax = docker.io/docker/dockerfile:1@" + feDigest.String() + "\nFROM alpine:3.20\n",
			want: "docker.io/docker/dockerfile:1.7@" + feDigest.String(), wantRef: "docker.io/docker/dockerfile:1@" + feDigest.String()},
		{name: "allowed digest-only entry", o: allowed, dockerfile: "# syntax=registry.example.com/fe/dockerfile@" + otherDigest.String() + "\nFROM alpine:3.20\n",
			want: "registry.example.com/fe/dockerfile@" + otherDigest.String(), wantRef: "registry.example.com/fe/dockerfile@" + otherDigest.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, img, err := tt.o.chooseFrontend([]byte(tt.dockerfile))
			if strings.HasPrefix(tt.want, "invalid input: ") {
				if !errors.Is(err, hallmark.ErrInvalid) || !strings.HasPrefix(err.Error(), tt.want) {
					t.Fatalf("chooseFrontend = %q, %v; want an error starting %q", got, err, tt.want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("chooseFrontend = %q, %v; want %q", got, err, tt.want)
			}
			switch {
			case tt.wantRef == "" && img != nil:
				t.Errorf("built-in frontend with a frontend image %+v", img)
			case tt.wantRef != "" && (img == nil || img.Ref != tt.wantRef || img.Pinned != tt.want || !strings.HasSuffix(tt.want, "@"+img.Digest.String())):
				t.Errorf("frontend image = %+v; want ref %q pinned %q", img, tt.wantRef, tt.want)
			}
		})
	}
}

// TestWithFrontendsPinned: every allowed frontend must be pinned by a
// sha256 digest.
func TestWithFrontendsPinned(t *testing.T) {
	for _, ref := range []string{"docker/dockerfile:1.7", "docker/dockerfile", "Docker/Dockerfile@" + feDigest.String(), "docker/dockerfile@sha256:abc"} {
		var o options
		if err := WithFrontends(ref)(&o); !errors.Is(err, hallmark.ErrInvalid) {
			t.Errorf("WithFrontends(%q) = %v, want ErrInvalid", ref, err)
		}
	}
}

// TestSourcePolicyFrontendImage evaluates the solve's source policy with
// BuildKit's own engine, as the daemon does for the image the gateway
// frontend loads (TagNameOnly of the directive's reference): an allowed
// frontend image is rewritten to its pinned digest and allowed; without
// it, every other image is denied.
func TestSourcePolicyFrontendImage(t *testing.T) {
	o := frontendOptions(t, "docker/dockerfile:1.7@"+feDigest.String())
	_, fe, err := o.chooseFrontend([]byte("# syntax=docker/dockerfile:1.7\nFROM alpine:3.20\n"))
	if err != nil {
		t.Fatal(err)
	}
	bases := []hallmark.ResolvedBase{{Ref: "alpine:3.20", Pinned: "docker.io/library/alpine@" + baseDigest.String(), Digest: baseDigest}}
	evaluate := func(pins solvePins, id string) (string, error) {
		t.Helper()
		op := &pb.SourceOp{Identifier: id}
		_, err := sourcepolicy.NewEngine([]*spb.Policy{pinPolicy(pins.all())}).Evaluate(t.Context(), op)
		return op.Identifier, err
	}
	pinnedFE := "docker-image://docker.io/docker/dockerfile:1.7@" + feDigest.String()
	for _, tt := range []struct {
		name, id, want string
		pins           solvePins
	}{
		{"frontend by tag", "docker-image://docker.io/docker/dockerfile:1.7", pinnedFE, solvePins{bases: bases, frontend: fe}},
		{"frontend as resolved", pinnedFE, pinnedFE, solvePins{bases: bases, frontend: fe}},
		{"base still pinned", "docker-image://docker.io/library/alpine:3.20", "docker-image://docker.io/library/alpine:3.20@" + baseDigest.String(), solvePins{bases: bases, frontend: fe}},
		{"frontend without the directive", "docker-image://docker.io/docker/dockerfile:1.7", "", solvePins{bases: bases}},
		{"another frontend tag", "docker-image://docker.io/docker/dockerfile:1", "", solvePins{bases: bases, frontend: fe}},
		{"another digest", "docker-image://docker.io/docker/dockerfile@" + otherDigest.String(), "", solvePins{bases: bases, frontend: fe}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := evaluate(tt.pins, tt.id)
			if tt.want == "" {
				if !errors.Is(err, sourcepolicy.ErrSourceDenied) {
					t.Fatalf("%s: %q, %v; want denied", tt.id, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("%s: %q, %v; want %q", tt.id, got, err, tt.want)
			}
		})
	}
}

// TestCheckFrontendPin: a frontend image that is also a base must be
// pinned to the same digest; the source policy rewrites one reference to
// one digest.
func TestCheckFrontendPin(t *testing.T) {
	fe := &hallmark.ResolvedBase{Ref: "docker/dockerfile:1.7", Digest: feDigest}
	for _, tt := range []struct {
		name  string
		fe    *hallmark.ResolvedBase
		bases []hallmark.ResolvedBase
		ok    bool
	}{
		{"no frontend image", nil, []hallmark.ResolvedBase{{Ref: "docker/dockerfile:1.7", Digest: otherDigest}}, true},
		{"different images", fe, []hallmark.ResolvedBase{{Ref: "alpine:3.20", Digest: baseDigest}}, true},
		{"same image, same digest", fe, []hallmark.ResolvedBase{{Ref: "docker.io/docker/dockerfile:1.7", Digest: feDigest}}, true},
		{"same image, other digest", fe, []hallmark.ResolvedBase{{Ref: "docker.io/docker/dockerfile:1.7", Digest: otherDigest}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := checkFrontendPin(tt.fe, tt.bases)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, hallmark.ErrInvalid)) {
				t.Errorf("checkFrontendPin = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
