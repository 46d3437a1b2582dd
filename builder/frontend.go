package builder

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	hallmark "github.com/hallmark-dev/hallmark"
)

// builtinFrontend is the frontend of every build without a "# syntax="
// directive: the Dockerfile frontend built into buildkitd, never one pulled
// from a registry.
const builtinFrontend = "dockerfile.v0"

// allowedFrontend is one entry of WithFrontends.
type allowedFrontend struct {
	name   string // the repository, normalized: docker.io/docker/dockerfile
	tag    string // "" when the entry names none
	digest hallmark.Digest
}

// WithFrontends lets a "# syntax=" directive select one of the frontend
// images refs, each pinned by digest: "name[:tag]@sha256:<hex>"
// ("docker.io/docker/dockerfile:1.7@sha256:…"). A directive that names a
// digest must name one of an entry of the same repository; a directive
// that names a tag (or none, which means latest) must name the tag of an
// entry of the same repository, whose digest is then used. A reference that
// is not pinned by a sha256 digest is an error wrapping hallmark.ErrInvalid.
// The default is none: every "# syntax=" directive is refused and builds
// use BuildKit's built-in Dockerfile frontend.
func WithFrontends(refs ...string) Option {
	return func(o *options) error {
		for i, ref := range refs {
			named, err := reference.ParseNormalizedNamed(ref)
			if err != nil {
				return fmt.Errorf("%w: frontend %d %q: %w", hallmark.ErrInvalid, i, hallmark.Clip(ref, 200), err)
			}
			c, ok := named.(reference.Canonical)
			if !ok || c.Digest().Algorithm() != "sha256" {
				return fmt.Errorf("%w: frontend %d %q is not pinned by a sha256 digest", hallmark.ErrInvalid, i, hallmark.Clip(ref, 200))
			}
			f := allowedFrontend{name: named.Name(), digest: hallmark.Digest(c.Digest().String())}
			if t, ok := named.(reference.Tagged); ok {
				f.tag = t.Tag()
			}
			o.frontends = append(o.frontends, f)
		}
		return nil
	}
}

// chooseFrontend returns the frontend that builds dockerfile: the built-in
// one when it has no "# syntax=" directive (found by BuildKit's own
// parser.DetectSyntax, in all the forms BuildKit reads), or the allowed
// frontend image the directive names, pinned by digest. A directive that
// WithFrontends does not allow is an error wrapping hallmark.ErrInvalid
// that names its line.
func (o options) chooseFrontend(dockerfile []byte) (name string, image *hallmark.ResolvedBase, err error) {
	ref, _, loc, ok := parser.DetectSyntax(dockerfile)
	if !ok {
		return builtinFrontend, nil, nil
	}
	line := 1
	if len(loc) > 0 {
		line = loc[0].Start.Line
	}
	refuse := func(why string) error {
		return fmt.Errorf("%w: dockerfile line %d: # syntax=%s %s", hallmark.ErrInvalid, line, hallmark.Clip(ref, 200), why)
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", nil, refuse(fmt.Sprintf("is not an image reference: %v", err))
	}
	f, ok := o.allowFrontend(named)
	if !ok {
		return "", nil, refuse("selects a frontend image that the build policy does not allow; allowed: " + o.allowedFrontends() +
			" (or remove the line to use BuildKit's built-in Dockerfile frontend)")
	}
	pinned := f.name
	if f.tag != "" {
		pinned += ":" + f.tag
	}
	pinned += "@" + f.digest.String()
	return pinned, &hallmark.ResolvedBase{Ref: ref, Pinned: pinned, Digest: f.digest}, nil
}

// allowFrontend finds the entry that allows the directive's image.
func (o options) allowFrontend(named reference.Named) (allowedFrontend, bool) {
	var digest hallmark.Digest
	if c, ok := named.(reference.Canonical); ok {
		digest = hallmark.Digest(c.Digest().String())
	}
	tag := "latest"
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	for _, f := range o.frontends {
		if f.name != named.Name() {
			continue
		}
		if digest != "" && f.digest == digest || digest == "" && f.tag == tag {
			return f, true
		}
	}
	return allowedFrontend{}, false
}

// allowedFrontends lists the allowed frontend images for a message.
func (o options) allowedFrontends() string {
	if len(o.frontends) == 0 {
		return "none"
	}
	names := make([]string, len(o.frontends))
	for i, f := range o.frontends {
		names[i] = f.name
		if f.tag != "" {
			names[i] += ":" + f.tag
		}
		names[i] += "@" + f.digest.String()
	}
	return strings.Join(names, ", ")
}

// checkFrontendPin refuses a build whose frontend image is also one of its
// bases, written the same way but pinned to another digest: the source
// policy can rewrite one reference to one digest only.
func checkFrontendPin(frontend *hallmark.ResolvedBase, bases []hallmark.ResolvedBase) error {
	if frontend == nil {
		return nil
	}
	from, _ := sourceIdentifiers(*frontend)
	for _, b := range bases {
		if f, _ := sourceIdentifiers(b); f == from && b.Digest != frontend.Digest {
			return fmt.Errorf("%w: base image %q is pinned to %s, but the # syntax= frontend %q is allowed as %s; write one of them with its digest",
				hallmark.ErrInvalid, hallmark.Clip(b.Ref, 200), b.Digest, hallmark.Clip(frontend.Ref, 200), frontend.Digest)
		}
	}
	return nil
}
