package builder

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/distribution/reference"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/glob"
)

// BaseMode says how base images must be pinned to digests.
type BaseMode string

const (
	// BasePin lets a Dockerfile name base images by tag: the gateway pins
	// each tag to the digest it points at before the solve.
	BasePin BaseMode = "pin"
	// BaseRequireDigest requires every base image to be pinned by digest in
	// the Dockerfile itself (after ARG expansion): image@sha256:<hex>.
	BaseRequireDigest BaseMode = "require-digest"
)

// ParseBaseMode reads "pin" or "require-digest".
func ParseBaseMode(s string) (BaseMode, error) {
	switch m := BaseMode(s); m {
	case BasePin, BaseRequireDigest:
		return m, nil
	}
	return "", fmt.Errorf("%q is not %s or %s", s, BasePin, BaseRequireDigest)
}

// WithBaseImageAllow limits base images to repositories ("registry/path",
// fully qualified: "docker.io/library/alpine") that match one of patterns.
// Patterns are of internal/glob's dialect: "127.0.0.1:*/hallmark/*",
// "docker.io/library/*", "registry.example.com/base/**". The error for a bad pattern names its
// index. The default is an empty list, which allows every repository.
func WithBaseImageAllow(patterns ...string) Option {
	return func(o *options) error {
		g, err := glob.CompileAll("base image allow pattern", patterns)
		if err != nil {
			return err
		}
		o.baseAllow = append(o.baseAllow, g...)
		return nil
	}
}

// WithBaseImageMode sets how base images must be pinned. Whatever the
// mode, a base named by ":latest" or by no tag at all is refused unless it
// is pinned by digest. The default is BasePin.
func WithBaseImageMode(m BaseMode) Option {
	return func(o *options) error {
		if _, err := ParseBaseMode(string(m)); err != nil {
			return fmt.Errorf("base image mode: %w", err)
		}
		o.baseMode = m
		return nil
	}
}

// checkBases applies the base-image policy to every image that building
// the target pulls, before anything is resolved or built. The error wraps
// hallmark.ErrInvalid and names, for each refused image, the stage, the
// line and the reason.
func (o options) checkBases(info *DockerfileInfo) error {
	var problems []string
	seen := map[string]bool{}
	check := func(s Stage, line int, ref string) {
		if seen[ref] {
			return
		}
		seen[ref] = true
		if why := o.baseProblem(ref); why != "" {
			problems = append(problems, fmt.Sprintf("%s: base image %q: %s", stageLabel(s, line), hallmark.Clip(ref, 200), why))
		}
	}
	info.eachBase(check)
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", hallmark.ErrInvalid, strings.Join(problems, "\n"))
}

// eachBase calls f for every image that building the target pulls, with
// the stage and line that name it, in Dockerfile order.
func (info *DockerfileInfo) eachBase(f func(s Stage, line int, ref string)) {
	for _, s := range info.Stages {
		if !s.Reachable {
			continue
		}
		if s.BaseStage < 0 && s.Base != scratch {
			f(s, s.Line, s.Base)
		}
		for j, img := range s.Images {
			line := s.Line
			if j < len(s.imageLines) {
				line = s.imageLines[j]
			}
			f(s, line, img)
		}
	}
}

// stageOf names the first stage and line that use the base ref.
func (info *DockerfileInfo) stageOf(ref string) string {
	label := "the Dockerfile"
	found := false
	info.eachBase(func(s Stage, line int, r string) {
		if !found && r == ref {
			label, found = stageLabel(s, line), true
		}
	})
	return label
}

// baseProblem returns why the policy refuses ref, or "".
func (o options) baseProblem(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return fmt.Sprintf("not a valid image reference: %v", err)
	}
	if len(o.baseAllow) > 0 {
		if _, ok := glob.First(o.baseAllow, named.Name()); !ok {
			return fmt.Sprintf("repository %q is not in the gateway's base image allowlist (%s)", named.Name(), o.allowList())
		}
	}
	if _, ok := named.(reference.Digested); ok {
		return ""
	}
	tagged, ok := named.(reference.Tagged)
	switch {
	case !ok:
		return "no tag or digest means :latest, which is not allowed; pin a version or digest"
	case tagged.Tag() == "latest":
		return "the :latest tag is not allowed; pin a version or digest"
	case o.baseMode == BaseRequireDigest:
		return "not pinned by digest; the gateway requires base images written as name:tag@sha256:<digest>"
	}
	return ""
}

func (o options) allowList() string {
	raw := make([]string, len(o.baseAllow))
	for i, g := range o.baseAllow {
		raw[i] = g.String()
	}
	return hallmark.Clip(strings.Join(raw, ", "), 300)
}

// recordBases returns the policy decision for the resolved bases of info.
func (o options) recordBases(info *DockerfileInfo, bases []hallmark.ResolvedBase) *hallmark.BasePolicy {
	p := &hallmark.BasePolicy{Mode: string(o.baseMode), Bases: []hallmark.BaseDecision{}}
	runtime := ""
	if rb := info.RuntimeBase(); rb != "" {
		runtime, _ = normalizeName(rb)
	}
	for _, b := range bases {
		d := hallmark.BaseDecision{Ref: b.Ref, Digest: b.Digest}
		if named, err := reference.ParseNormalizedNamed(b.Ref); err == nil {
			d.AllowedBy, _ = glob.First(o.baseAllow, named.Name())
		}
		if n, err := normalizeName(b.Ref); err == nil && n == runtime {
			d.Runtime = true
		}
		p.Bases = append(p.Bases, d)
	}
	return p
}

// stageLabel names a stage and a line for error messages:
// `stage "build" (line 3)`, or `stage 1 (line 5)` for an unnamed stage.
func stageLabel(s Stage, line int) string {
	name := strconv.Itoa(s.Index)
	if s.Name != "" {
		name = strconv.Quote(s.Name)
	}
	return fmt.Sprintf("stage %s (line %d)", name, line)
}
