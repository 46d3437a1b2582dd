package server

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/builder"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// Request limits. They bound what one request can make the gateway hold.
const (
	maxTags          = 32
	maxBuildArgs     = 200
	maxArgValueBytes = 32 << 10
	maxPlatforms     = 8
	maxSecrets       = 32
	maxSecretBytes   = 512 << 10
	maxLabels        = 100
	maxLabelKeyBytes = 256
	maxLabelValBytes = 4 << 10
	maxPathBytes     = 4096
)

var (
	argNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	platformRE = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$`)
	targetRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,127}$`)
	secretIDRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
	commitRE   = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
	// gitURLRE accepts http:// too: the full commit id, which BuildKit
	// checks, pins the content whatever the transport.
	gitURLRE = regexp.MustCompile(`^(https?://[^\s#?]+|git@[A-Za-z0-9.-]+:[^\s#?]+)$`)
)

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", hallmark.ErrInvalid, field, fmt.Sprintf(format, args...))
}

// buildRequest validates a BuildRequest and turns it into the domain type.
// It never echoes secret values or whole oversized fields.
func buildRequest(in *hallmarkv1.BuildRequest) (hallmark.BuildRequest, error) {
	var out hallmark.BuildRequest
	switch src := in.GetSource().(type) {
	case *hallmarkv1.BuildRequest_ContextDigest:
		d, err := hallmark.ParseDigest(src.ContextDigest)
		if err != nil {
			return out, invalid("context_digest", "%v", err)
		}
		out.ContextDigest = d
	case *hallmarkv1.BuildRequest_Git:
		g := src.Git
		if !gitURLRE.MatchString(g.GetUrl()) || len(g.GetUrl()) > maxPathBytes {
			return out, invalid("git.url", "%q is not an https://, http:// or git@host:path URL without a fragment", clip(g.GetUrl()))
		}
		if !commitRE.MatchString(g.GetCommit()) {
			return out, invalid("git.commit", "must be a full lowercase hex commit id, not a branch or tag")
		}
		if err := checkPath("git.subdir", g.GetSubdir()); err != nil {
			return out, err
		}
		if strings.ContainsAny(g.GetSubdir(), ":#?") {
			return out, invalid("git.subdir", "%q may not contain ':', '#' or '?'", clip(g.GetSubdir()))
		}
		out.Git = &hallmark.GitSource{URL: g.GetUrl(), Commit: g.GetCommit(), Subdir: g.GetSubdir()}
	default:
		return out, invalid("source", "set context_digest (from UploadContext) or git")
	}
	if err := checkPath("dockerfile", in.GetDockerfile()); err != nil {
		return out, err
	}
	out.Dockerfile = in.GetDockerfile()
	if len(in.GetDockerfileInline()) > builder.MaxDockerfileBytes {
		return out, fmt.Errorf("%w: dockerfile_inline: %d bytes, the limit is %d", hallmark.ErrTooLarge, len(in.GetDockerfileInline()), builder.MaxDockerfileBytes)
	}
	out.DockerfileInline = in.GetDockerfileInline()

	repo, err := tags(in.GetTags())
	if err != nil {
		return out, err
	}
	out.Repository, out.Tags = repo, in.GetTags()

	if len(in.GetBuildArgs()) > maxBuildArgs {
		return out, invalid("build_args", "%d entries, the limit is %d", len(in.GetBuildArgs()), maxBuildArgs)
	}
	for k, v := range in.GetBuildArgs() {
		if !argNameRE.MatchString(k) || len(k) > 256 {
			return out, invalid("build_args", "name %q is not a valid ARG name (letters, digits, _; not starting with a digit)", clip(k))
		}
		if len(v) > maxArgValueBytes {
			return out, invalid("build_args", "value of %s is over %d bytes", k, maxArgValueBytes)
		}
	}
	out.BuildArgs = in.GetBuildArgs()

	if len(in.GetPlatforms()) > maxPlatforms {
		return out, invalid("platforms", "%d entries, the limit is %d", len(in.GetPlatforms()), maxPlatforms)
	}
	for _, p := range in.GetPlatforms() {
		if !platformRE.MatchString(p) {
			return out, invalid("platforms", "%q is not os/arch[/variant], e.g. linux/amd64", clip(p))
		}
	}
	out.Platforms = in.GetPlatforms()

	if t := in.GetTarget(); t != "" && !targetRE.MatchString(t) {
		return out, invalid("target", "%q is not a stage name", clip(t))
	}
	out.Target = in.GetTarget()

	if len(in.GetSecrets()) > maxSecrets {
		return out, invalid("secrets", "%d entries, the limit is %d", len(in.GetSecrets()), maxSecrets)
	}
	seen := map[string]bool{}
	for i, s := range in.GetSecrets() {
		if !secretIDRE.MatchString(s.GetId()) {
			return out, invalid(fmt.Sprintf("secrets[%d].id", i), "%q is not a secret id (letters, digits, . _ -)", clip(s.GetId()))
		}
		if seen[s.GetId()] {
			return out, invalid(fmt.Sprintf("secrets[%d].id", i), "%q is given twice", s.GetId())
		}
		seen[s.GetId()] = true
		if len(s.GetValue()) > maxSecretBytes {
			return out, fmt.Errorf("%w: secrets[%d] (%s): value over %d bytes", hallmark.ErrTooLarge, i, s.GetId(), maxSecretBytes)
		}
		out.Secrets = append(out.Secrets, hallmark.Secret{ID: s.GetId(), Value: s.GetValue()})
	}

	if len(in.GetLabels()) > maxLabels {
		return out, invalid("labels", "%d entries, the limit is %d", len(in.GetLabels()), maxLabels)
	}
	for k, v := range in.GetLabels() {
		if k == "" || len(k) > maxLabelKeyBytes || len(v) > maxLabelValBytes {
			return out, invalid("labels", "key %q: keys must be 1-%d bytes, values at most %d", clip(k), maxLabelKeyBytes, maxLabelValBytes)
		}
	}
	out.Labels = in.GetLabels()
	out.NoCache = in.GetNoCache()
	return out, nil
}

// tags checks the tags and returns their one repository.
func tags(ts []string) (string, error) {
	if len(ts) == 0 {
		return "", invalid("tags", "at least one tag is required, e.g. registry.example.com/team/app:v1")
	}
	if len(ts) > maxTags {
		return "", invalid("tags", "%d entries, the limit is %d", len(ts), maxTags)
	}
	var repo string
	for i, t := range ts {
		if strings.Contains(t, "@") {
			return "", invalid(fmt.Sprintf("tags[%d]", i), "%q names a digest; tags name the references to move", clip(t))
		}
		tag, err := name.NewTag(t, name.StrictValidation)
		if err != nil {
			return "", invalid(fmt.Sprintf("tags[%d]", i), "%q is not registry/repository:tag: %v", clip(t), err)
		}
		r := tag.Context().Name()
		if repo != "" && r != repo {
			return "", invalid(fmt.Sprintf("tags[%d]", i), "repository %q differs from %q; all tags of a build must name one repository", r, repo)
		}
		repo = r
	}
	return repo, nil
}

func checkPath(field, p string) error {
	if len(p) > maxPathBytes || strings.ContainsRune(p, 0) {
		return invalid(field, "path too long or contains NUL")
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return invalid(field, "%q leaves the context", clip(p))
		}
	}
	return nil
}

// clip shortens caller-supplied strings quoted in errors.
func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
