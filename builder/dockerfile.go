package builder

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder/dockerlint"
)

// MaxDockerfileBytes is the largest Dockerfile InspectDockerfile accepts.
const MaxDockerfileBytes = 1 << 20

// scratch is the empty base image, as BuildKit spells it (case-sensitively).
const scratch = "scratch"

// DockerfileInfo is what a build will use, read from a Dockerfile before it
// is built.
type DockerfileInfo struct {
	// Syntax is the frontend image named by a "# syntax=" directive, or "".
	// BuildKit's dockerfile frontend hands the whole build to that image.
	Syntax string
	// Stages are all stages in Dockerfile order.
	Stages []Stage
	// Target is the index in Stages of the stage being built.
	Target int
	// Bases are the distinct external images that building Target pulls:
	// the FROM bases of reachable stages and the images they name in COPY
	// --from and RUN --mount from=, in order of first use, after ARG
	// expansion and without "scratch". References that BuildKit normalizes
	// to the same name ("alpine", "docker.io/library/alpine:latest") appear
	// once, as first written.
	Bases []string
	// Warnings are the gateway's lint warnings about the stages being
	// built, in BuildKit's short form ("Rule: message (line N)").
	Warnings []string
}

// Stage is one FROM and the instructions after it.
type Stage struct {
	// Index is the stage's position, counted from 0.
	Index int
	// Name is the lower-cased name given with AS, or "".
	Name string
	// Base is the FROM reference after ARG expansion: an image, "scratch"
	// or an earlier stage's name.
	Base string
	// BaseStage is the index of the stage Base names, or -1 for an image.
	BaseStage int
	// Platform is the --platform flag as written, before expansion.
	Platform string
	// Line is the 1-based line of the FROM instruction.
	Line int
	// Reachable reports whether building the target builds this stage.
	Reachable bool
	// Images are external images the stage reads with COPY --from, RUN
	// --mount from= and ONBUILD triggers inherited from its base stage.
	Images []string

	imageLines []int      // the line that names each of Images
	deps       []stageDep // stages this one reads from, besides BaseStage
}

// stageDep is a COPY --from or RUN --mount from= naming a stage.
type stageDep struct {
	stage int
	line  int
	from  string
}

type inspectOptions struct {
	buildPlatform  string
	targetPlatform string
}

// InspectOption configures InspectDockerfile.
type InspectOption func(*inspectOptions) error

// WithBuildPlatform sets the platform BUILDPLATFORM and its parts expand
// to, such as "linux/arm64". The default is the gateway's own platform.
func WithBuildPlatform(p string) InspectOption {
	return func(o *inspectOptions) error { o.buildPlatform = p; return nil }
}

// WithTargetPlatform sets the platform TARGETPLATFORM and its parts expand
// to; for a multi-platform build, inspect once per platform. The default is
// the build platform.
func WithTargetPlatform(p string) InspectOption {
	return func(o *inspectOptions) error { o.targetPlatform = p; return nil }
}

var buildArgName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidateBuildArgs checks that every build-arg name is a valid identifier
// and that none is one of BuildKit's control args
// (hallmark.ControlBuildArgPrefix): BUILDKIT_SYNTAX would switch to another
// frontend image, BUILDKIT_CACHE_MOUNT_NS to another tenant's cache mounts.
func ValidateBuildArgs(args map[string]string) error {
	names := make([]string, 0, len(args))
	for k := range args {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !buildArgName.MatchString(k) {
			return fmt.Errorf("%w: build arg name %q is not an identifier ([A-Za-z_][A-Za-z0-9_]*)", hallmark.ErrInvalid, hallmark.Clip(k, 80))
		}
		if strings.HasPrefix(k, hallmark.ControlBuildArgPrefix) {
			return hallmark.ValidateBuildArg(k, "")
		}
	}
	return nil
}

// InspectDockerfile parses src with BuildKit's parser and returns its
// stages and the external base images that building target (the last stage
// when empty) pulls, expanding ARGs the way BuildKit does: global ARG
// defaults, overridden by buildArgs, plus the automatic platform ARGs.
// Malformed input gives an error wrapping hallmark.ErrInvalid that names the
// line ("dockerfile line 3: ..."); src over MaxDockerfileBytes gives
// hallmark.ErrTooLarge.
func InspectDockerfile(src []byte, buildArgs map[string]string, target string, opts ...InspectOption) (info *DockerfileInfo, err error) {
	o := inspectOptions{}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	// The parsers come from outside this module; never let a bug in them
	// take the gateway down.
	defer func() {
		if r := recover(); r != nil {
			info, err = nil, fmt.Errorf("%w: dockerfile could not be parsed: %v", hallmark.ErrInvalid, r)
		}
	}()
	return inspectDockerfile(src, buildArgs, target, o)
}

func inspectDockerfile(src []byte, buildArgs map[string]string, target string, o inspectOptions) (*DockerfileInfo, error) {
	if len(src) > MaxDockerfileBytes {
		return nil, fmt.Errorf("%w: dockerfile is %d bytes, the limit is %d", hallmark.ErrTooLarge, len(src), MaxDockerfileBytes)
	}
	if err := ValidateBuildArgs(buildArgs); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, fmt.Errorf("%w: dockerfile is empty", hallmark.ErrInvalid)
	}
	globals, err := defaultArgs(o, buildArgs, target)
	if err != nil {
		return nil, err
	}
	return inspect(src, globals, buildArgs, target)
}

func inspect(src []byte, globals *argEnv, buildArgs map[string]string, target string) (*DockerfileInfo, error) {
	info := &DockerfileInfo{}
	if ref, _, _, ok := parser.DetectSyntax(src); ok {
		info.Syntax = ref
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, dockerfileErr(err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, dockerfileErr(err)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%w: dockerfile has no FROM instruction", hallmark.ErrInvalid)
	}
	// Without a target BuildKit builds the last stage and names it in
	// TARGETSTAGE.
	if _, set := buildArgs["TARGETSTAGE"]; !set && target == "" && stages[len(stages)-1].Name != "" {
		globals.set("TARGETSTAGE", stages[len(stages)-1].Name)
	}
	lex := shell.NewLex(res.EscapeToken)
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if v, ok := buildArgs[kv.Key]; ok {
				globals.set(kv.Key, v)
				continue
			}
			if kv.Value == nil {
				continue
			}
			v, _, err := lex.ProcessWord(*kv.Value, globals)
			if err != nil {
				return nil, lineErr(a.Location(), "expand ARG %s: %v", kv.Key, err)
			}
			globals.set(kv.Key, v)
		}
	}

	byName := map[string]int{}
	for i, st := range stages {
		s, err := fromStage(i, st, lex, globals, byName)
		if err != nil {
			return nil, err
		}
		info.Stages = append(info.Stages, s)
		if s.Name != "" {
			byName[s.Name] = i
		}
	}
	// COPY --from and RUN --mount may name any stage, also a later one.
	for i, st := range stages {
		if err := info.addSources(i, st.Commands, lex, byName); err != nil {
			return nil, err
		}
		if b := info.Stages[i].BaseStage; b >= 0 {
			if err := info.addOnbuild(i, stages[b].Commands, lex, byName, st.Location); err != nil {
				return nil, err
			}
		}
	}
	if err := info.checkCycles(); err != nil {
		return nil, err
	}
	info.Target = len(stages) - 1
	if target != "" {
		t, ok := byName[strings.ToLower(target)]
		if !ok {
			return nil, fmt.Errorf("%w: target stage %q not found in the dockerfile; stages are: %s", hallmark.ErrInvalid, hallmark.Clip(target, 80), info.stageNames())
		}
		info.Target = t
	}
	info.markReachable(info.Target)
	if err := info.checkOrder(); err != nil {
		return nil, err
	}
	info.Warnings = dockerlint.Lint(stages, func(i int) bool { return i < len(info.Stages) && info.Stages[i].Reachable })
	return info, info.collectBases()
}

// fromStage reads one FROM: its name, expanded base and platform.
func fromStage(i int, st instructions.Stage, lex *shell.Lex, globals *argEnv, byName map[string]int) (Stage, error) {
	s := Stage{Index: i, Name: st.Name, BaseStage: -1, Platform: st.Platform, Line: startLine(st.Location)}
	base, _, err := lex.ProcessWord(st.BaseName, globals)
	if err != nil {
		return s, lineErr(st.Location, "expand FROM %s: %v", st.BaseName, err)
	}
	if base == "" {
		return s, lineErr(st.Location, "FROM %s expands to an empty image name; set the ARG it uses", st.BaseName)
	}
	s.Base = base
	if st.Platform != "" {
		p, _, err := lex.ProcessWord(st.Platform, globals)
		if err != nil {
			return s, lineErr(st.Location, "expand --platform=%s: %v", st.Platform, err)
		}
		if p == "" {
			return s, lineErr(st.Location, "--platform=%s expands to an empty platform", st.Platform)
		}
		if _, err := platforms.Parse(p); err != nil {
			return s, lineErr(st.Location, "--platform=%s: %v", st.Platform, err)
		}
	}
	// BuildKit matches FROM against earlier stage names exactly, after
	// expansion; stage names are already lower case.
	if b, ok := byName[base]; ok {
		s.BaseStage = b
		return s, nil
	}
	if base != scratch {
		if _, err := normalizeName(base); err != nil {
			return s, lineErr(st.Location, "invalid base image reference %q: %v", hallmark.Clip(base, 200), err)
		}
	}
	return s, nil
}

// addSources records the stages and images that cmds read from.
func (info *DockerfileInfo) addSources(i int, cmds []instructions.Command, lex *shell.Lex, byName map[string]int) error {
	for _, cmd := range cmds {
		var froms []string
		switch c := cmd.(type) {
		case *instructions.CopyCommand:
			if c.From == "" {
				continue
			}
			// BuildKit refuses variables in --from.
			if v, _, err := lex.ProcessWord(c.From, emptyEnv{}); err != nil || v != c.From {
				return lineErr(c.Location(), "COPY --from=%s: variables are not supported in --from; add a stage with FROM instead", hallmark.Clip(c.From, 80))
			}
			if n, err := strconv.Atoi(c.From); err == nil {
				if n < 0 || n >= len(info.Stages) {
					return lineErr(c.Location(), "COPY --from=%d: there is no stage %d", n, n)
				}
				info.Stages[i].deps = append(info.Stages[i].deps, stageDep{n, startLine(c.Location()), c.From})
				continue
			}
			froms = []string{c.From}
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(c) {
				if m.From != "" {
					froms = append(froms, m.From)
				}
			}
		}
		for _, from := range froms {
			if s, ok := byName[strings.ToLower(from)]; ok {
				info.Stages[i].deps = append(info.Stages[i].deps, stageDep{s, startLine(cmd.Location()), from})
				continue
			}
			if from == scratch {
				continue
			}
			if _, err := normalizeName(from); err != nil {
				return lineErr(cmd.Location(), "invalid image reference %q in --from: %v", hallmark.Clip(from, 200), err)
			}
			info.Stages[i].Images = append(info.Stages[i].Images, from)
			info.Stages[i].imageLines = append(info.Stages[i].imageLines, startLine(cmd.Location()))
		}
	}
	return nil
}

// addOnbuild adds the sources of the ONBUILD triggers of stage i's base
// stage, which run at the start of stage i.
func (info *DockerfileInfo) addOnbuild(i int, baseCmds []instructions.Command, lex *shell.Lex, byName map[string]int, loc []parser.Range) error {
	for _, cmd := range baseCmds {
		ob, ok := cmd.(*instructions.OnbuildCommand)
		if !ok {
			continue
		}
		res, err := parser.Parse(strings.NewReader(ob.Expression))
		if err != nil || len(res.AST.Children) != 1 {
			return lineErr(ob.Location(), "ONBUILD %s: not a single instruction", hallmark.Clip(ob.Expression, 80))
		}
		node := res.AST.Children[0]
		node.StartLine, node.EndLine = startLine(loc), startLine(loc)
		c, err := instructions.ParseCommand(node)
		if err != nil {
			return lineErr(ob.Location(), "ONBUILD %s: %v", hallmark.Clip(ob.Expression, 80), err)
		}
		if err := info.addSources(i, []instructions.Command{c}, lex, byName); err != nil {
			return err
		}
	}
	return nil
}

// checkCycles rejects stages that depend on themselves, as BuildKit does.
func (info *DockerfileInfo) checkCycles() error {
	const (
		unseen = iota
		active
		done
	)
	state := make([]int, len(info.Stages))
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case active:
			return fmt.Errorf("%w: dockerfile line %d: circular dependency on stage %s", hallmark.ErrInvalid, info.Stages[i].Line, info.stageName(i))
		case done:
			return nil
		}
		state[i] = active
		for _, d := range info.edges(i) {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[i] = done
		return nil
	}
	for i := range info.Stages {
		if err := visit(i); err != nil {
			return err
		}
	}
	return nil
}

func (info *DockerfileInfo) edges(i int) []int {
	s := info.Stages[i]
	var out []int
	if s.BaseStage >= 0 {
		out = append(out, s.BaseStage)
	}
	for _, d := range s.deps {
		out = append(out, d.stage)
	}
	return out
}

// checkOrder rejects reachable stages that read from themselves or a later
// stage, which BuildKit cannot build ("needs to be defined before").
func (info *DockerfileInfo) checkOrder() error {
	for i, s := range info.Stages {
		if !s.Reachable {
			continue
		}
		for _, d := range s.deps {
			if d.stage >= i {
				return fmt.Errorf("%w: dockerfile line %d: --from=%s names stage %s, which is not defined before this one", hallmark.ErrInvalid, d.line, hallmark.Clip(d.from, 80), info.stageName(d.stage))
			}
		}
	}
	return nil
}

func (info *DockerfileInfo) markReachable(i int) {
	if info.Stages[i].Reachable {
		return
	}
	info.Stages[i].Reachable = true
	for _, d := range info.edges(i) {
		info.markReachable(d)
	}
}

// collectBases lists the distinct external images of reachable stages and
// rejects stage names that BuildKit would confuse with a pinned base.
func (info *DockerfileInfo) collectBases() error {
	seen := map[string]bool{}
	add := func(ref string) {
		n, _ := normalizeName(ref) // validated when read
		if !seen[n] {
			seen[n] = true
			info.Bases = append(info.Bases, ref)
		}
	}
	for _, s := range info.Stages {
		if !s.Reachable {
			continue
		}
		if s.BaseStage < 0 && s.Base != scratch {
			add(s.Base)
		}
		for _, img := range s.Images {
			add(img)
		}
	}
	// A named context "context:<name>" replaces a stage of that name, not
	// only the FROM of that image; see NamedContexts.
	keys := map[string]string{}
	for _, b := range info.Bases {
		if k, err := contextName(b); err == nil {
			keys[k] = b
		}
	}
	for _, s := range info.Stages {
		if b, ok := keys[s.Name]; ok && s.Name != "" {
			return fmt.Errorf("%w: dockerfile line %d: stage name %q is also the name of base image %q; rename the stage", hallmark.ErrInvalid, s.Line, s.Name, b)
		}
	}
	return nil
}

func (info *DockerfileInfo) stageName(i int) string {
	if n := info.Stages[i].Name; n != "" {
		return strconv.Quote(n)
	}
	return strconv.Itoa(i)
}

func (info *DockerfileInfo) stageNames() string {
	var names []string
	for _, s := range info.Stages {
		if s.Name != "" {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return "(none named)"
	}
	return strings.Join(names, ", ")
}

// defaultArgs are BuildKit's automatic global ARGs, which build args may
// override.
func defaultArgs(o inspectOptions, buildArgs map[string]string, target string) (*argEnv, error) {
	bp := platforms.DefaultSpec()
	if o.buildPlatform != "" {
		p, err := platforms.Parse(o.buildPlatform)
		if err != nil {
			return nil, fmt.Errorf("%w: build platform %q: %w", hallmark.ErrInvalid, o.buildPlatform, err)
		}
		bp = p
	}
	tp := bp
	if o.targetPlatform != "" {
		p, err := platforms.Parse(o.targetPlatform)
		if err != nil {
			return nil, fmt.Errorf("%w: target platform %q: %w", hallmark.ErrInvalid, o.targetPlatform, err)
		}
		tp = p
	}
	if target == "" {
		target = "default"
	}
	env := &argEnv{}
	for _, kv := range [...][2]string{
		{"BUILDPLATFORM", platforms.Format(bp)},
		{"BUILDOS", bp.OS},
		{"BUILDOSVERSION", bp.OSVersion},
		{"BUILDARCH", bp.Architecture},
		{"BUILDVARIANT", bp.Variant},
		{"TARGETPLATFORM", platforms.FormatAll(tp)},
		{"TARGETOS", tp.OS},
		{"TARGETOSVERSION", tp.OSVersion},
		{"TARGETARCH", tp.Architecture},
		{"TARGETVARIANT", tp.Variant},
		{"TARGETSTAGE", target},
	} {
		v := kv[1]
		if ov, ok := buildArgs[kv[0]]; ok {
			v = ov
		}
		env.set(kv[0], v)
	}
	return env, nil
}

// argEnv is an ordered set of ARG values for shell.Lex.
type argEnv struct {
	keys []string
	vals map[string]string
}

func (e *argEnv) set(k, v string) {
	if e.vals == nil {
		e.vals = map[string]string{}
	}
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

func (e *argEnv) Get(k string) (string, bool) { v, ok := e.vals[k]; return v, ok }
func (e *argEnv) Keys() []string              { return e.keys }

type emptyEnv struct{}

func (emptyEnv) Get(string) (string, bool) { return "", false }
func (emptyEnv) Keys() []string            { return nil }

func startLine(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

func lineErr(loc []parser.Range, format string, args ...any) error {
	return fmt.Errorf("%w: dockerfile line %d: %s", hallmark.ErrInvalid, startLine(loc), fmt.Sprintf(format, args...))
}

// dockerfileErr turns a BuildKit parse error into one naming the line.
func dockerfileErr(err error) error {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		msg := le.Error()
		if strings.Contains(msg, "no build stage in current context") {
			msg = "an instruction comes before the first FROM (only ARG may precede FROM)"
		}
		return fmt.Errorf("%w: dockerfile line %d: %s", hallmark.ErrInvalid, le.Locations[0][0].Start.Line, msg)
	}
	return fmt.Errorf("%w: dockerfile: %w", hallmark.ErrInvalid, err)
}

// RuntimeBase returns the image reference the target stage is built on,
// following FROM references to earlier stages, or "" for scratch.
func (info *DockerfileInfo) RuntimeBase() string {
	if info.Target < 0 || info.Target >= len(info.Stages) {
		return ""
	}
	st := info.Stages[info.Target]
	for seen := 0; st.BaseStage >= 0 && seen < len(info.Stages); seen++ {
		st = info.Stages[st.BaseStage]
	}
	if st.BaseStage >= 0 || st.Base == "scratch" {
		return ""
	}
	return st.Base
}
